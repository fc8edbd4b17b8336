"""Debug logs: ``THREADLINE_LOG=debug`` and structured lines without content or keys."""

from __future__ import annotations

import logging
from types import ModuleType

import httpx
import httpx2
import pytest

import threadline as tl
from threadline._logs import ahttp_event_hooks
from threadline.providers import EchoProvider
from threadline.providers.base import TurnRequest, TurnResult
from threadline.testing import AsyncEchoEngine

SECRET = "sk-log-sentinel-42"


class _HttpEngine(AsyncEchoEngine):
    _provider: HttpEcho

    async def turn(self, request: TurnRequest) -> TurnResult:
        await self._provider.client.post(
            f"https://api.example.com/v1/responses?key={SECRET}",
            json={"input": request.input.text},
            headers={"Authorization": f"Bearer {SECRET}"},
        )
        return await super().turn(request)


class HttpEcho(EchoProvider):
    """Echo that also makes one (mocked) HTTP request per turn, like a real adapter.

    ``http`` is httpx or httpx2 (which the provider SDKs use): the hook fits both.
    """

    async_engine_class = _HttpEngine

    def __init__(self, http: ModuleType) -> None:
        super().__init__()
        transport = http.MockTransport(lambda request: http.Response(201, json={"ok": True}))
        self.client = http.AsyncClient(transport=transport, event_hooks=ahttp_event_hooks("echo"))


def test_threadline_log_debug_installs_a_handler(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """THREADLINE_LOG=debug: key=value lines on stderr for each call, with the session id."""
    monkeypatch.setenv("THREADLINE_LOG", "debug")
    with tl.SessionManager("memory://") as manager:
        s = manager.create()
        s.send("hello zanzibar")
        s.pause()
    lines = [line for line in capsys.readouterr().err.splitlines() if "threadline" in line]
    events = [line.split(" threadline ", 1)[1].split(" ")[0] for line in lines]
    assert events == ["threadline.create", "chat", "threadline.send", "threadline.pause"]
    assert all(f"session={s.id}" in line for line in lines)
    assert all("DEBUG" in line for line in lines)
    create, chat, send, pause = lines
    assert "store=memory outcome=ok duration_ms=" in create
    assert "chat echo-1 provider=echo" in chat
    assert "attempts=1 outcome=ok response_id=echo_resp_" in chat
    assert "input_tokens=2 output_tokens=3" in chat
    assert "outcome=ok" in send
    assert "outcome=ok" in pause
    assert "zanzibar" not in "\n".join(lines)


def test_threadline_log_installs_one_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many managers, one handler; a level name other than debug is honoured."""
    monkeypatch.setenv("THREADLINE_LOG", "warning")
    with tl.SessionManager("memory://"), tl.SessionManager("memory://"):
        pass
    logger = logging.getLogger("threadline")
    assert logger.level == logging.WARNING
    assert sum(type(h).__name__ == "_Handler" for h in logger.handlers) == 1


def test_no_handler_without_threadline_log() -> None:
    """Unset: threadline leaves logging configuration to the application."""
    with tl.SessionManager("memory://"):
        pass
    assert not [
        h for h in logging.getLogger("threadline").handlers if type(h).__name__ == "_Handler"
    ]


def test_failures_and_retries_are_logged(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, no_sleep: list[float]
) -> None:
    """A refused transition and a retried call show their error.type."""
    caplog.set_level(logging.DEBUG, logger="threadline")
    limited = tl.RateLimitError("slow down", provider="echo", status_code=429, retryable=True)
    with tl.SessionManager("memory://", providers=[EchoProvider(faults=[limited])]) as manager:
        s = manager.create()
        s.send("hi")
        s.complete()
        with pytest.raises(tl.InvalidTransitionError, match=r"cannot resume .*: it is completed"):
            s.resume()
    text = caplog.text
    assert f"threadline.retry session={s.id} attempt=1 error_type=rate_limited delay_s=" in text
    assert f"threadline.resume session={s.id} store=memory outcome=error" in text
    assert "error_type=invalid_transition" in text
    record = next(r for r in caplog.records if r.getMessage().startswith("threadline.resume"))
    fields = record.threadline  # type: ignore[attr-defined]
    assert fields["event"] == "threadline.resume"
    assert fields["session"] == s.id
    assert fields["error_type"] == "invalid_transition"


@pytest.mark.parametrize("http", [httpx, httpx2], ids=["httpx", "httpx2"])
async def test_provider_requests_are_logged_without_query_or_keys(
    caplog: pytest.LogCaptureFixture, http: ModuleType
) -> None:
    """The HTTP hook logs method, host, path, status, duration and the turn's session;
    never the query string, headers or body."""
    caplog.set_level(logging.DEBUG, logger="threadline")
    async with tl.AsyncSessionManager("memory://", providers=[HttpEcho(http)]) as manager:
        s = await manager.create()
        await s.send("hello zanzibar")
    (line,) = [
        r.getMessage() for r in caplog.records if r.getMessage().startswith("threadline.http")
    ]
    assert line.startswith(
        "threadline.http provider=echo method=POST host=api.example.com path=/v1/responses"
        " status=201 duration_ms="
    )
    assert line.endswith(f"session={s.id}")
    assert SECRET not in caplog.text
    assert "zanzibar" not in caplog.text
