"""`threadline.testing`'s bridge: respx routes answering httpx2 (SDK) traffic."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import httpx2
import openai
import pytest
import respx

from threadline.testing import RespxTransport, openai_client, sse_body

URL = "https://api.example.com/v1/thing"


def _router() -> respx.Router:
    return respx.Router(assert_all_mocked=True, assert_all_called=False)


def test_sync_requests_reach_the_route_and_come_back() -> None:
    """Method, URL, headers and body go through; status, headers and body return."""
    router = _router()
    route = router.post(URL).respond(201, json={"ok": True}, headers={"x-id": "1"})
    with httpx2.Client(transport=RespxTransport(router)) as client:
        response = client.post(URL, json={"a": 1}, headers={"x-key": "v"})
    assert (response.status_code, response.json(), response.headers["x-id"]) == (
        201,
        {"ok": True},
        "1",
    )
    sent = route.calls.last.request
    assert sent.headers["x-key"] == "v" and sent.content == b'{"a":1}'


async def test_async_requests_reach_the_route_and_come_back() -> None:
    router = _router()
    router.get(URL).respond(200, text="hello")
    async with httpx2.AsyncClient(transport=RespxTransport(router)) as client:
        response = await client.get(URL)
    assert response.text == "hello"


def test_streaming_bodies_stay_streaming() -> None:
    """Chunks reach the client one at a time: the second is produced only after the
    first was read."""
    produced: list[str] = []

    def body() -> Iterator[bytes]:
        produced.append("one")
        yield b"one"
        produced.append("two")
        yield b"two"

    router = _router()
    router.get(URL).mock(return_value=httpx.Response(200, content=body()))
    with (
        httpx2.Client(transport=RespxTransport(router)) as client,
        client.stream("GET", URL) as response,
    ):
        chunks = response.iter_raw()
        assert next(chunks) == b"one" and produced == ["one"]
        assert next(chunks) == b"two" and produced == ["one", "two"]


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (httpx.ReadTimeout, httpx2.ReadTimeout),
        (httpx.ConnectError, httpx2.ConnectError),
        (httpx.RemoteProtocolError, httpx2.RemoteProtocolError),
    ],
)
async def test_route_errors_become_the_same_named_httpx2_errors(
    raised: type[Exception], expected: type[Exception]
) -> None:
    router = _router()
    router.get(URL).mock(side_effect=raised)
    async with httpx2.AsyncClient(transport=RespxTransport(router)) as client:
        with pytest.raises(expected, match="Mock Error"):
            await client.get(URL)


@pytest.mark.parametrize("sync", [False, True])
async def test_openai_client_raises_the_sdks_own_errors(sync: bool) -> None:
    """Through `openai_client`, a route timeout is ``openai.APITimeoutError`` and a
    cut stream ``openai.APIConnectionError``, sync or async."""
    router = respx.Router(base_url="https://api.openai.com/v1")
    router.post("/responses").mock(side_effect=httpx.ReadTimeout)
    client = openai_client(router, sync=sync)

    async def create(**options: object) -> list[object]:
        """Call the SDK and read the whole stream, whichever client it is."""
        if sync:
            result = client.responses.create(model="m", input="hi", **options)
            return list(result) if options else [result]
        result = await client.responses.create(model="m", input="hi", **options)
        return [event async for event in result] if options else [result]

    with pytest.raises(openai.APITimeoutError, match="Request timed out"):
        await create()

    def cut() -> Iterator[bytes]:
        yield sse_body([{"type": "response.created", "sequence_number": 0, "response": {}}])
        raise httpx.ReadError("connection reset")

    router.post("/responses").mock(
        side_effect=None, return_value=httpx.Response(200, content=cut())
    )
    with pytest.raises(openai.APIConnectionError, match="Connection error"):
        await create(stream=True)


def test_sse_body_writes_event_and_data_lines() -> None:
    assert (
        sse_body([{"type": "ping", "n": 1}]) == b'event: ping\ndata: {"type": "ping", "n": 1}\n\n'
    )
