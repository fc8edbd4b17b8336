"""Replies that arrive but cannot be read, and keys that must not leak through errors.

A 200 whose body is not JSON, JSON of the wrong shape, an empty reply or a broken
stream line: the server may hold the turn, so each is an ambiguous `ProviderError`.
The mirror adds nothing, the session drops its server-side copy, and the next turn
re-seeds, so the server is never ahead of the mirror.
"""

from __future__ import annotations

import traceback
from typing import Any

import httpx
import pytest
from openai_fake import Fault, Flavor

import threadline as tl


def _empty(response: dict[str, Any]) -> dict[str, Any]:
    return {}


def _no_content(response: dict[str, Any]) -> dict[str, Any]:
    for item in response["output"]:
        item.pop("content", None)
    return response


def _output_not_a_list(response: dict[str, Any]) -> dict[str, Any]:
    return {**response, "output": "hello"}


def _call_without_id(response: dict[str, Any]) -> dict[str, Any]:
    call = {"type": "function_call", "id": "fc_1", "name": "f", "arguments": "{}"}
    return {**response, "output": [call]}


MALFORMED = {
    "not json": b"<html>502 Bad Gateway</html>",
    "empty object": _empty,
    "message without content": _no_content,
    "output not a list": _output_not_a_list,
    "tool call without call_id": _call_without_id,
}


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("kind", list(MALFORMED))
async def test_an_unreadable_reply_is_ambiguous_and_the_mirror_stays_behind(
    flavor: Flavor, kind: str, stream: bool
) -> None:
    server = flavor.server
    s = await flavor.create(max_attempts=1)
    await s.send("first")
    conversation = s.native_id
    server.faults.append(Fault(malformed=MALFORMED[kind]))
    # A stream with no readable event at all is a stream that ended early.
    call = s.stream if stream else s.send
    with pytest.raises(tl.ProviderError, match=r"could not be read|stream ended before") as info:
        await call("second")
    assert info.value.ambiguous and info.value.retryable
    assert info.value.__cause__ is None
    # The server stored the turn; the mirror did not, so the copy is dropped...
    assert [m.text for m in s.messages] == ["first", "re: first"]
    assert s.native_id is None
    assert conversation not in server.conversations  # ...and deleted
    # ...and the next turn re-seeds a conversation that matches the mirror.
    await s.send("third")
    assert [t for _, t in server.texts(s.native_id)] == [
        "first",
        "re: first",
        "third",
        "re: third",
    ]


async def test_an_unreadable_reply_is_retried_and_found_already_landed(
    flavor: Flavor,
) -> None:
    """With retries on, the retry first checks the conversation: the turn the
    unreadable reply carried is found there and mirrored once, never sent twice."""
    server = flavor.server
    s = await flavor.create()
    await s.send("first")
    server.faults.append(Fault(malformed=b"garbage"))
    reply = await s.send("second")
    assert reply.text == "re: second"
    assert [t for _, t in server.texts(s.native_id)] == [
        "first",
        "re: first",
        "second",
        "re: second",
    ]
    assert [m.text for m in s.messages] == [t for _, t in server.texts(s.native_id)]


async def test_a_broken_sse_data_line_is_an_unreadable_reply(flavor: Flavor) -> None:
    server = flavor.server
    s = await flavor.create(max_attempts=1)
    await s.send("first")
    server.faults.append(Fault(malformed=b"event: response.created\ndata: {not json\n\n"))
    with pytest.raises(tl.ProviderError, match="could not be read") as info:
        await s.stream("second")
    assert info.value.ambiguous
    assert [m.text for m in s.messages] == ["first", "re: first"]


KEY = "sk-proj-LeakedKey0123456789abcdef"


async def test_an_echoed_api_key_never_reaches_the_error_or_its_traceback(
    flavor: Flavor,
) -> None:
    """Servers may echo the key in an error; threadline's message is redacted and the
    SDK exception is not chained, so no printed traceback holds the key."""
    server = flavor.server
    s = await flavor.create(max_attempts=1)
    server.faults.append(Fault(status=401, error={"message": f"Incorrect API key provided: {KEY}"}))
    with pytest.raises(tl.AuthenticationError, match="openai 401: Incorrect API key") as info:
        await s.send("hi")
    printed = "".join(traceback.format_exception(info.value))
    assert KEY not in printed and KEY not in repr(info.value)
    assert "[redacted key]" in str(info.value)
    assert info.value.__cause__ is None


def test_sdk_status_errors_are_not_chained() -> None:
    """(Unit) every path that maps an SDK error raises it ``from None``."""
    from pathlib import Path

    root = Path(tl.__file__).parent / "providers"
    for path in root.glob("_*_async.py"):
        assert "from exc" not in path.read_text(), path.name
    assert httpx  # the fake's transport library is in use
