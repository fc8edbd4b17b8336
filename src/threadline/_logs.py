"""Debug logging: structured lines for lifecycle calls, model calls and HTTP requests.

``THREADLINE_LOG=debug`` (or any level name; ``1``/``true`` mean debug) gives the
``threadline`` logger a stderr handler; standard ``logging`` configuration works as
well. A line reads ``<event> key=value ...``; the same fields are on
``record.threadline`` for structured (JSON) handlers. Lines never hold message content
(unless content capture is switched on, see `_genai_content`) or API keys.

Hook for provider adapters: call `log_request` once per HTTP request, or pass
``event_hooks=ahttp_event_hooks("openai")`` to an async httpx/httpx2 client threadline
builds. It logs method, host, path (never the query string: some APIs put keys there),
status, duration, and the session id of the turn being run, taken from a context
variable so adapters need not pass it.
"""

from __future__ import annotations

import logging
import os
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

logger = logging.getLogger("threadline")

LOG_ENV = "THREADLINE_LOG"

# The session the current lifecycle call works on, for log lines of code (provider
# HTTP hooks) that is not handed it. Never set across a ``yield`` of a stream.
session_var: ContextVar[str | None] = ContextVar("threadline_session_id", default=None)


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler ``THREADLINE_LOG`` installs (a class of its own so it is added once)."""


def configure_logging(environ: Mapping[str, str] = os.environ) -> None:
    """Honour ``THREADLINE_LOG=<level>``: a stderr handler on the ``threadline`` logger."""
    value = environ.get(LOG_ENV, "").strip().upper()
    if not value:
        return
    level = logging.DEBUG if value in ("1", "TRUE") else logging.getLevelName(value)
    if not isinstance(level, int):
        return
    logger.setLevel(level)
    if not any(isinstance(h, _Handler) for h in logger.handlers):
        handler = _Handler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        logger.addHandler(handler)


def _format(value: object) -> str:
    text = str(value)
    return repr(text) if (not text or any(c in text for c in ' ="')) else text


def log_event(event: str, **fields: object) -> None:
    """One structured debug line: ``event key=value ...`` (fields also on ``extra``)."""
    if logger.isEnabledFor(logging.DEBUG):
        shown = " ".join(f"{k}={_format(v)}" for k, v in fields.items() if v is not None)
        logger.debug("%s %s", event, shown, extra={"threadline": {"event": event, **fields}})


def log_request(
    *,
    provider: str,
    method: str,
    url: str,
    status: int | None,
    duration: float,
    session_id: str | None = None,
) -> None:
    """Log one provider HTTP request (for adapters). ``status`` None: no response."""
    parts = urlsplit(url)
    log_event(
        "threadline.http",
        provider=provider,
        method=method,
        host=parts.hostname,
        path=parts.path,
        status=status if status is not None else "none",
        duration_ms=round(duration * 1000, 2),
        session=session_id or session_var.get(),
    )


class _RequestTimer:
    """When each request started, until its response headers arrive."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.started: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()

    def request(self, request: Any) -> None:
        self.started[request] = time.perf_counter()

    def response(self, response: Any) -> None:
        request = response.request
        begun = self.started.pop(request, None)
        log_request(
            provider=self.provider,
            method=request.method,
            url=str(request.url),
            status=response.status_code,
            duration=time.perf_counter() - begun if begun is not None else 0.0,
        )


def ahttp_event_hooks(provider: str) -> dict[str, list[Callable[[Any], Awaitable[None]]]]:
    """``event_hooks`` for an async httpx/httpx2 client that call `log_request`.

    The duration runs until the response headers arrive (the hook's moment).
    """
    timer = _RequestTimer(provider)

    async def on_request(request: Any) -> None:
        timer.request(request)

    async def on_response(response: Any) -> None:
        timer.response(response)

    return {"request": [on_request], "response": [on_response]}


def http_event_hooks(provider: str) -> dict[str, list[Callable[[Any], None]]]:
    """``event_hooks`` for a blocking httpx/httpx2 client (see `ahttp_event_hooks`)."""
    timer = _RequestTimer(provider)
    return {"request": [timer.request], "response": [timer.response]}
