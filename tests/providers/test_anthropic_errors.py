"""Anthropic errors on threadline's tree, retries without duplicates, and clients."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic
import pytest
from anthropic_fake import FACES, MODEL, Driver, Fault, texts

import threadline as tl
from threadline.providers.anthropic import AnthropicProvider
from threadline.providers.base import NativeState
from threadline.testing import sse_body

pytestmark = pytest.mark.parametrize("face", FACES)

KEY = "sk-ant-api03-SECRETSECRETSECRET"


async def _failing(d: Driver, fault: Fault, *, stream: bool = False) -> tl.ProviderError:
    await d.send("first")
    d.fake.faults = [fault]
    turn = d.stream if stream else d.send
    with pytest.raises(tl.ProviderError) as caught:
        await turn("second")
    assert texts(d.history) == ["first", "re: first"]  # nothing of the failed turn
    return caught.value


@pytest.mark.parametrize(
    ("status", "kind", "retryable", "ambiguous"),
    [
        (401, tl.AuthenticationError, False, False),
        (403, tl.AuthenticationError, False, False),
        (404, tl.ProviderError, False, False),
        (400, tl.ProviderError, False, False),
        (413, tl.ContextWindowExceededError, False, False),
        (429, tl.RateLimitError, True, False),
        (500, tl.ProviderUnavailableError, True, True),
        (503, tl.ProviderUnavailableError, True, False),
        (529, tl.ProviderUnavailableError, True, True),
    ],
)
async def test_http_errors_land_on_the_tree(
    face: str, status: int, kind: type[tl.ProviderError], retryable: bool, ambiguous: bool
) -> None:
    """Each status maps to its class, ``retryable`` and ``ambiguous`` per the shared
    policy (5xx ambiguous except 503; 529 "overloaded" retryable), keeping the status
    and the server's message."""
    error = await _failing(Driver(face), Fault(status=status, message="it went wrong"))
    assert type(error) is kind
    assert (error.status_code, error.retryable, error.ambiguous) == (status, retryable, ambiguous)
    assert error.provider == "anthropic" and "it went wrong" in str(error)


async def test_a_too_long_prompt_is_a_context_window_error(face: str) -> None:
    error = await _failing(
        Driver(face), Fault(status=400, message="prompt is too long: 210000 tokens > 200000")
    )
    assert isinstance(error, tl.ContextWindowExceededError) and not error.retryable


async def test_a_reply_cut_by_the_context_window_is_an_ambiguous_overflow(face: str) -> None:
    """``stop_reason: model_context_window_exceeded`` raises; the thread may hold the
    cut turn, so the error is ambiguous and the native state is dropped."""
    d = Driver(face)
    await d.send("a")
    with pytest.raises(tl.ContextWindowExceededError) as caught:
        await d.send("/overflow")
    assert caught.value.ambiguous and d.native is None
    assert texts(d.history) == ["a", "re: a"]


async def test_keys_never_reach_an_error_or_its_chain(face: str) -> None:
    """A server message quoting the key is redacted, and the error has no cause or
    context leading back to the SDK exception (which holds the request headers)."""
    error = await _failing(Driver(face), Fault(status=401, message=f"invalid x-api-key {KEY}"))
    assert "SECRET" not in str(error) and "SECRET" not in repr(error)
    assert "[redacted key]" in str(error)
    assert error.__cause__ is None and error.__context__ is None


async def test_429_honours_retry_after_and_the_retry_continues_the_thread(face: str) -> None:
    d = Driver(face)
    await d.send("a")
    d.fake.faults = [Fault(status=429, headers={"retry-after": "7"})]
    with pytest.raises(tl.RateLimitError) as caught:
        await d.send("b")
    assert caught.value.retry_after == 7.0 and caught.value.retryable
    d.fake.faults = [Fault(status=429, headers={"retry-after-ms": "1500"})]
    reply = await d.send("b", attempts=2)
    assert reply.text == "re: b"
    assert [b["thread"]["type"] for b in d.fake.bodies] == ["create", *["continue"] * 3]


async def test_529_is_retried_without_duplicates(face: str) -> None:
    """An overloaded 529 is retried; the retry continues from the same reply id (the
    server holds nothing of the failed try), and mirror and thread hold the turn once."""
    d = Driver(face)
    await d.send("a")
    d.fake.faults = [Fault(status=529), Fault(status=529)]
    reply = await d.send("b", attempts=3)
    assert [b["thread"] for b in d.fake.bodies[1:]] == [
        {"type": "continue", "previous_message_id": "msg_0001"}
    ] * 3
    assert texts(d.history) == ["a", "re: a", "b", "re: b"]
    assert d.fake.thread_texts(reply.provider_id or "") == [
        ("user", "a"),
        ("assistant", "re: a"),
        ("user", "b"),
        ("assistant", "re: b"),
    ]


async def test_a_turn_stored_before_a_timeout_is_not_duplicated(face: str) -> None:
    """The server stored the turn but the answer was lost: the retry's continue is
    refused (already continued) and the turn is re-seeded, so the thread used from now
    on holds the turn once, like the mirror."""
    d = Driver(face)
    await d.send("a")
    d.fake.faults = [Fault(timeout_after_storing=True)]
    reply = await d.send("b", attempts=2)
    assert d.requests[-1].ambiguous
    assert [b["thread"]["type"] for b in d.fake.bodies] == [
        "create",
        "continue",
        "continue",
        "create",
    ]
    assert d.fake.thread_texts(reply.provider_id or "") == [
        ("user", "a"),
        ("assistant", "re: a"),
        ("user", "b"),
        ("assistant", "re: b"),
    ]
    assert d.hooks.named("threadline.native.reseed") == [
        {"reason": "thread_already_continued", "items": 2}
    ]


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Fault(timeout=True), "timed out"),
        (Fault(connect_error=True), "connection"),
    ],
)
async def test_timeouts_and_resets_are_ambiguous_and_retryable(
    face: str, fault: Fault, message: str
) -> None:
    d = Driver(face)
    error = await _failing(d, fault)
    assert isinstance(error, tl.ProviderUnavailableError)
    assert error.retryable and error.ambiguous and message in str(error)
    assert d.native is None  # the core stops trusting the thread; next turn re-seeds
    await d.send("third")
    assert d.fake.bodies[-1]["thread"] == {"type": "create"}


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    "body",
    [b"<html>bad gateway</html>", b'{"type": "message"}', b"[1, 2]"],
)
async def test_malformed_replies_are_ambiguous_provider_errors(
    face: str, body: bytes, stream: bool
) -> None:
    """A body that is not a message (not JSON, no id, wrong shape), streamed or not, is a
    `ProviderError` marked ambiguous: the server may hold the turn."""
    d = Driver(face)
    error = await _failing(d, Fault(body=body), stream=stream)
    assert type(error) in (tl.ProviderError, tl.ProviderUnavailableError)
    assert error.ambiguous and d.native is None


async def test_an_sse_event_that_is_not_json_is_malformed(face: str) -> None:
    d = Driver(face)
    body = b"event: message_start\ndata: {not json\n\n"
    error = await _failing(d, Fault(body=body), stream=True)
    assert type(error) is tl.ProviderError and error.ambiguous
    assert "not JSON" in str(error)


_START = {
    "type": "message_start",
    "message": {
        "id": "msg_9",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    },
}
_TEXT_START = {
    "type": "content_block_start",
    "index": 0,
    "content_block": {"type": "text", "text": ""},
}


@pytest.mark.parametrize(
    "events",
    [
        [{"type": "message_start", "message": 5}],
        [_START, {"type": "content_block_start", "index": 0, "content_block": 5}],
        [
            _START,
            _TEXT_START,
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": 5}},
        ],
    ],
    ids=["message", "content-block", "delta"],
)
async def test_an_sse_event_of_the_wrong_shape_is_malformed(
    face: str, events: list[dict[str, Any]]
) -> None:
    """An event the SDK parses but whose fields have the wrong types: a typed,
    ambiguous `ProviderError`, and no serializer warning on the way (the suite turns
    warnings into errors)."""
    d = Driver(face)
    error = await _failing(d, Fault(body=sse_body(events)), stream=True)
    assert type(error) is tl.ProviderError and error.ambiguous
    assert "did not have the expected shape" in str(error)
    assert error.__cause__ is None and error.__context__ is None
    assert d.native is None


@pytest.mark.parametrize(
    ("fault", "kind", "status"),
    [
        (Fault(cut_after_events=4), tl.ProviderUnavailableError, None),
        (Fault(end_after_events=6), tl.ProviderUnavailableError, None),
        (Fault(error_event_after=5), tl.ProviderUnavailableError, 529),
    ],
)
async def test_a_stream_that_does_not_reach_message_stop_is_ambiguous(
    face: str, fault: Fault, kind: type[tl.ProviderError], status: int | None
) -> None:
    """A connection dropped mid-stream, a body that ends before ``message_stop``, an
    ``error`` event: each is an ambiguous, retryable error, and the next turn starts a
    new thread from the mirror."""
    d = Driver(face)
    error = await _failing(d, fault, stream=True)
    assert type(error) is kind and error.status_code == status
    assert error.ambiguous and error.retryable
    await d.send("third")
    assert d.fake.bodies[-1]["thread"] == {"type": "create"}
    assert texts(d.history) == ["first", "re: first", "third", "re: third"]


async def test_a_stream_retried_before_its_first_event_is_not_duplicated(face: str) -> None:
    """A stream that ends before showing anything is retried; the server took the
    first continue, so the retry re-seeds and the turn appears once."""
    d = Driver(face)
    await d.send("a")
    d.fake.faults = [Fault(end_after_events=3)]  # message_start, ping, block start
    events, reply = await d.stream("b c", attempts=2)
    assert [e.text for e in events] == ["re:", " b", " c"]
    assert d.fake.thread_texts(reply.provider_id or "")[-2:] == [
        ("user", "b c"),
        ("assistant", "re: b c"),
    ]
    assert texts(d.history) == ["a", "re: a", "b c", "re: b c"]


async def test_a_client_of_the_wrong_face_is_refused(face: str) -> None:
    """The async engine needs ``anthropic.AsyncAnthropic``, the blocking one
    ``anthropic.Anthropic``; the error says which."""
    d = Driver(face)
    wrong = d.fake.client(sync=face == "async")
    provider = AnthropicProvider(client=wrong)
    with pytest.raises(tl.ConfigurationError) as caught:
        provider.sync_engine() if face == "sync" else provider.async_engine()
    expected = "anthropic.Anthropic" if face == "sync" else "anthropic.AsyncAnthropic"
    assert expected in str(caught.value) and type(wrong).__name__ in str(caught.value)


async def test_clients_threadline_builds_have_sdk_retries_and_tracing_off(
    face: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a client each face builds its own: ``max_retries=0`` (threadline's
    retry policy is the only one) and ``open_telemetry=False`` (threadline's CLIENT
    span is the only span per model call)."""
    seen: dict[str, Any] = {}
    base = anthropic.Anthropic if face == "sync" else anthropic.AsyncAnthropic

    class Recording(base):  # type: ignore[misc,valid-type]
        def __init__(self, **options: Any) -> None:
            seen.update(options)
            super().__init__(**options)

    monkeypatch.setattr(anthropic, base.__name__, Recording)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    provider = AnthropicProvider()
    engine: Any = provider.sync_engine() if face == "sync" else provider.async_engine()
    assert seen["max_retries"] == 0 and seen["open_telemetry"] is False
    if face == "sync":
        engine.close()
    else:
        await engine.aclose()
    assert engine._client.is_closed()


@pytest.mark.parametrize("config_dir", [False, True])
async def test_no_key_is_an_authentication_error_before_sending(
    face: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, config_dir: bool
) -> None:
    """No key in the environment (and no readable credentials profile): the turn fails
    with an `AuthenticationError` saying what to set, and nothing is sent."""
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    if config_dir:  # the SDK refuses a config directory without the profile it names
        monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(tmp_path))
    provider = AnthropicProvider()
    with pytest.raises(tl.AuthenticationError, match="ANTHROPIC_API_KEY"):
        await Driver(face, provider=provider).send("hi")


async def test_closing_leaves_a_given_client_open_and_deletes_nothing(face: str) -> None:
    """A client the user passed is theirs to close; threads have no delete endpoint,
    so ``delete_native`` sends nothing."""
    d = Driver(face)
    await d.send("a")
    assert d.native is not None
    if face == "sync":
        d.engine.delete_native(d.native)
    else:
        await d.engine.delete_native(NativeState(provider="anthropic", handle="msg_0001"))
    await d.close()
    assert not d.provider.client.is_closed()
    assert len(d.fake.calls) == 1
