"""Drive provider SDKs from ``respx`` routes: an httpx2 transport over a respx router.

The OpenAI, Anthropic and Google SDKs send through ``httpx2``, a fork of httpx with
its own classes; ``respx`` patches only ``httpx``, so a plain ``respx.mock`` never sees
SDK traffic. `RespxTransport` closes the gap without patching anything: each
``httpx2.Request`` becomes an ``httpx.Request``, the router answers it, and the answer
goes back as an ``httpx2.Response``. Streaming bodies stay streaming (chunk by chunk,
so a test can cut a stream mid-way), and httpx errors raised by a route (``side_effect=
httpx.ReadTimeout``) come back as the httpx2 error of the same name, so the SDKs raise
their own timeout and connection errors.

```python
import httpx, respx
from threadline.testing import openai_client, sse_body

router = respx.Router(base_url="https://api.openai.com/v1", assert_all_called=False)
router.post("/responses").respond(json={...})
client = openai_client(router)              # AsyncOpenAI; sync=True for OpenAI
```
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import httpx
import httpx2

if TYPE_CHECKING:
    import respx

__all__ = ["RespxTransport", "openai_client", "sse_body"]

OPENAI_BASE_URL = "https://api.openai.com/v1"


def _as_httpx2_error(exc: BaseException, request: httpx2.Request) -> BaseException:
    """The httpx2 exception named like ``exc`` (or like its nearest named base)."""
    if not isinstance(exc, httpx.HTTPError):
        return exc
    for cls in type(exc).__mro__:
        target = getattr(httpx2, cls.__name__, None)
        if isinstance(target, type) and issubclass(target, httpx2.RequestError):
            return target(str(exc), request=request)
        if isinstance(target, type) and issubclass(target, httpx2.HTTPError):
            return target(str(exc))
    return exc


def _to_httpx(request: httpx2.Request, body: bytes) -> httpx.Request:
    return httpx.Request(
        request.method,
        str(request.url),
        headers=request.headers.multi_items(),
        content=body,
    )


class _SyncBody(httpx2.SyncByteStream):
    def __init__(self, response: httpx.Response, request: httpx2.Request) -> None:
        self._response = response
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        stream: Any = self._response.stream
        try:
            yield from stream
        except httpx.HTTPError as exc:
            raise _as_httpx2_error(exc, self._request) from exc

    def close(self) -> None:
        if isinstance(self._response.stream, httpx.SyncByteStream):
            self._response.close()


class _AsyncBody(httpx2.AsyncByteStream):
    def __init__(self, response: httpx.Response, request: httpx2.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        stream: Any = self._response.stream
        try:
            if isinstance(stream, httpx.AsyncByteStream):
                async for chunk in stream:
                    yield chunk
            else:  # a sync iterator body works for async clients too
                for chunk in stream:
                    yield chunk
        except httpx.HTTPError as exc:
            raise _as_httpx2_error(exc, self._request) from exc

    async def aclose(self) -> None:
        if isinstance(self._response.stream, httpx.AsyncByteStream):
            await self._response.aclose()
        else:
            self._response.close()


def _to_httpx2(
    response: httpx.Response,
    request: httpx2.Request,
    stream: httpx2.SyncByteStream | httpx2.AsyncByteStream,
) -> httpx2.Response:
    headers = response.headers.multi_items()
    try:
        content = response.content  # read already (respx pre-reads plain bodies)
    except httpx.ResponseNotRead:
        return httpx2.Response(
            response.status_code, headers=headers, stream=stream, request=request
        )
    return httpx2.Response(response.status_code, headers=headers, content=content, request=request)


class RespxTransport(httpx2.BaseTransport, httpx2.AsyncBaseTransport):
    """An httpx2 transport (sync and async) answered by a ``respx.Router``."""

    def __init__(self, router: respx.Router) -> None:
        self.router = router

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        body = request.read()
        try:
            response = self.router.handler(_to_httpx(request, body))
        except httpx.HTTPError as exc:
            raise _as_httpx2_error(exc, request) from exc
        return _to_httpx2(response, request, _SyncBody(response, request))

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = await request.aread()
        try:
            response = await self.router.async_handler(_to_httpx(request, body))
        except httpx.HTTPError as exc:
            raise _as_httpx2_error(exc, request) from exc
        return _to_httpx2(response, request, _AsyncBody(response, request))


def openai_client(router: respx.Router, *, sync: bool = False, **options: Any) -> Any:
    """An ``openai.AsyncOpenAI`` (``sync=True``: ``openai.OpenAI``) answered by ``router``.

    SDK retries are off (``max_retries=0``) so a test sees each request once; the API
    key is a dummy. ``options`` go to the client (``base_url=``, ``timeout=``...).
    """
    import openai

    options = {
        "api_key": "test-key",
        "base_url": OPENAI_BASE_URL,
        "max_retries": 0,
        **options,
    }
    transport = RespxTransport(router)
    if sync:
        return openai.OpenAI(http_client=httpx2.Client(transport=transport), **options)
    return openai.AsyncOpenAI(http_client=httpx2.AsyncClient(transport=transport), **options)


def sse_body(events: Iterable[Mapping[str, Any]]) -> bytes:
    """A server-sent-events body: one ``event:``/``data:`` record per event dict.

    The ``event:`` line is the dict's ``type`` (Anthropic's SDK skips records without
    one; OpenAI's ignores it).
    """
    records = []
    for event in events:
        name = event.get("type")
        head = f"event: {name}\n" if name else ""
        records.append(f"{head}data: {json.dumps(event)}\n\n")
    return "".join(records).encode()
