"""Failures carry ``error.type`` (the exception's stable ``error_type``) and ERROR status."""

from __future__ import annotations

import pytest
from opentelemetry.trace import SpanKind, StatusCode

import threadline as tl
from threadline.providers import EchoProvider
from threadline.testing import TelemetryCapture


def rate_limit() -> tl.RateLimitError:
    return tl.RateLimitError("slow down", provider="echo", status_code=429, retryable=True)


def test_refused_transition_marks_the_span(telemetry: TelemetryCapture) -> None:
    """send() on a completed session: the send span says invalid_transition, no model call."""
    with tl.SessionManager("memory://", **telemetry.manager_options) as manager:
        s = manager.create()
        s.complete()
        with pytest.raises(tl.InvalidTransitionError, match=r"cannot send .*: it is completed"):
            s.send("hello?")
        with pytest.raises(tl.InvalidTransitionError, match=r"cannot pause .*: it is completed"):
            s.pause()
    for name in ("threadline.send", "threadline.pause"):
        span = telemetry.span(name)
        assert span.attributes is not None
        assert span.attributes["error.type"] == "invalid_transition"
        assert span.status.status_code is StatusCode.ERROR
        assert span.status.description == "InvalidTransitionError"
        assert span.attributes["gen_ai.conversation.id"] == s.id
    assert telemetry.spans("chat echo-1") == []
    # The successful calls are untouched.
    assert telemetry.span("threadline.complete").status.status_code is StatusCode.UNSET


def test_unknown_session_is_session_not_found(telemetry: TelemetryCapture) -> None:
    """A get() that finds nothing records session_not_found, with the id it looked for."""
    with (
        tl.SessionManager("memory://", **telemetry.manager_options) as manager,
        pytest.raises(tl.SessionNotFoundError, match="ses_missing"),
    ):
        manager.get("ses_missing")
    span = telemetry.span("threadline.get")
    assert span.attributes is not None
    assert span.attributes["error.type"] == "session_not_found"
    assert span.attributes["gen_ai.conversation.id"] == "ses_missing"
    assert span.status.status_code is StatusCode.ERROR


async def test_429_that_exhausts_retries(
    telemetry: TelemetryCapture, no_sleep: list[float]
) -> None:
    """Three 429s with max_attempts=3: one CLIENT span with two retry events, both spans
    ERROR with error.type rate_limited, the duration metric tagged with it, no tokens."""
    echo = EchoProvider(faults=[rate_limit(), rate_limit(), rate_limit()])
    async with tl.AsyncSessionManager(
        "memory://",
        providers=[echo],
        retry=tl.RetryPolicy(max_attempts=3),
        **telemetry.manager_options,
    ) as manager:
        s = await manager.create()
        with pytest.raises(tl.RateLimitError, match="slow down"):
            await s.send("hello")
    assert echo.calls == 3
    assert len(no_sleep) == 2

    send = telemetry.span("threadline.send")
    (chat,) = telemetry.spans("chat echo-1")
    assert chat.kind is SpanKind.CLIENT
    assert chat.parent is not None and send.context is not None
    assert chat.parent.span_id == send.context.span_id
    for span in (send, chat):
        assert span.attributes is not None
        assert span.attributes["error.type"] == "rate_limited"
        assert span.status.status_code is StatusCode.ERROR
        assert span.status.description == "RateLimitError"
    retries = [e for e in chat.events if e.name == "threadline.retry"]
    assert [(e.attributes or {})["attempt"] for e in retries] == [1, 2]
    assert {(e.attributes or {})["error.type"] for e in retries} == {"rate_limited"}
    assert [(e.attributes or {})["delay_s"] for e in retries] == [round(w, 3) for w in no_sleep]
    # No result: no response attributes.
    assert chat.attributes is not None
    assert "gen_ai.response.id" not in chat.attributes
    assert "gen_ai.usage.input_tokens" not in chat.attributes

    (duration,) = telemetry.points("gen_ai.client.operation.duration")
    assert dict(duration.attributes or {}) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "echo",
        "gen_ai.request.model": "echo-1",
        "error.type": "rate_limited",
    }
    assert telemetry.points("gen_ai.client.token.usage") == []


def test_retry_then_success_is_one_ok_span(
    telemetry: TelemetryCapture, no_sleep: list[float]
) -> None:
    """A 429 then an answer: one CLIENT span, one retry event, no error on any span."""
    echo = EchoProvider(faults=[rate_limit(), None])
    with tl.SessionManager("memory://", providers=[echo], **telemetry.manager_options) as manager:
        reply = manager.create().send("hello")
    assert reply.text == "echo: hello"
    (chat,) = telemetry.spans("chat echo-1")
    assert [e.name for e in chat.events] == ["threadline.retry"]
    assert chat.status.status_code is StatusCode.UNSET
    assert chat.attributes is not None
    assert "error.type" not in chat.attributes
    assert telemetry.span("threadline.send").status.status_code is StatusCode.UNSET
    (duration,) = telemetry.points("gen_ai.client.operation.duration")
    assert "error.type" not in (duration.attributes or {})


async def test_stream_failure_marks_stream_and_chat(
    telemetry: TelemetryCapture, no_sleep: list[float]
) -> None:
    """A stream whose provider refuses: both the stream span and its chat span are ERROR."""
    auth = tl.AuthenticationError("bad key", provider="echo", status_code=401)
    echo = EchoProvider(faults=[auth])
    async with tl.AsyncSessionManager(
        "memory://", providers=[echo], **telemetry.manager_options
    ) as manager:
        s = await manager.create()
        with pytest.raises(tl.AuthenticationError, match="bad key"):
            async for _ in s.stream("hello"):
                pass
    assert no_sleep == []  # not retryable
    for name in ("threadline.stream", "chat echo-1"):
        span = telemetry.span(name)
        assert (span.attributes or {})["error.type"] == "authentication_failed"
        assert span.status.status_code is StatusCode.ERROR


async def test_abandoned_stream_is_not_an_error(telemetry: TelemetryCapture) -> None:
    """Stopping a stream early is the caller's choice: an event, not an ERROR status."""
    async with tl.AsyncSessionManager("memory://", **telemetry.manager_options) as manager:
        s = await manager.create()
        events = s.stream("one two three four")
        async for _ in events:
            break
        await events.aclose()  # type: ignore[attr-defined]
    for name in ("threadline.stream", "chat echo-1"):
        span = telemetry.span(name)
        assert span.status.status_code is StatusCode.UNSET
        assert "threadline.abandoned" in [e.name for e in span.events]
    (duration,) = telemetry.points("gen_ai.client.operation.duration")
    assert "error.type" not in (duration.attributes or {})
