"""Machinery every SDK-backed provider shares: importing the SDK, calling it, mapping its errors.

The OpenAI adapter is the first user; the Anthropic and Google adapters follow the
same pattern, so nothing here knows about one provider:

- `require` imports an optional SDK or raises the one "install the extra" error.
- `SdkCaller` runs a call on a sync or an async client from the async core: async
  clients are awaited, sync clients (which a blocking `SessionManager` is given) run
  in a worker thread so they never block the event loop. Streams likewise: a sync
  stream is pulled one item per thread hop.
- `status_error` / `transport_error` turn an HTTP status or a lost request into the
  error tree of `threadline.errors`, with ``retryable``, ``retry_after`` and
  ``ambiguous`` decided in one place (see `status_error` for the policy).
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from functools import partial
from importlib import import_module
from types import ModuleType
from typing import Any, TypeVar, cast

from ..errors import (
    AuthenticationError,
    ConfigurationError,
    ContextWindowExceededError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitError,
)

__all__ = [
    "SdkCaller",
    "parse_retry_after",
    "redact",
    "require",
    "status_error",
    "transport_error",
]

T = TypeVar("T")

_RETRYABLE_STATUS = frozenset({408, 409, 429})
# 503 means the server turned the request away before doing anything with it. Every
# other 5xx (and 408) may come from a gateway that gave up while the backend carried
# on, so the server may hold the turn: that is what ``ambiguous`` says.
_UNAMBIGUOUS_5XX = frozenset({503})

# Keys look like ``sk-…`` (OpenAI, also in "Incorrect API key provided: sk-ab***yz"),
# ``sk-ant-…`` (Anthropic) or ``AIza…`` (Google). Never let one reach a log or span.
_KEY_PATTERN = re.compile(r"\b(sk-[A-Za-z0-9_\-*]{4,}|AIza[0-9A-Za-z_\-]{10,})")


def require(module: str, extra: str) -> ModuleType:
    """Import an optional SDK, or say which extra installs it."""
    try:
        return import_module(module)
    except ImportError as exc:
        raise ConfigurationError(f"pip install 'threadline[{extra}]'") from exc


def redact(message: str) -> str:
    """The message with anything that looks like an API key masked."""
    return _KEY_PATTERN.sub("[redacted key]", message)


def parse_retry_after(
    headers: Mapping[str, str] | None, *, now: float | None = None
) -> float | None:
    """Seconds the server asked us to wait, from ``retry-after-ms`` or ``retry-after``.

    ``retry-after`` may be seconds or an HTTP date. Unparseable or negative values
    are ignored (the retry layer then uses its own backoff).
    """
    if not headers:
        return None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            value = float(raw_ms) / 1000
        except ValueError:
            value = -1.0
        if value >= 0:
            return value
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
        return max(seconds, 0.0)
    return seconds if seconds >= 0 else None


def status_error(
    provider: str,
    status: int,
    message: str,
    *,
    retry_after: float | None = None,
    context_overflow: bool = False,
) -> ProviderError:
    """The `ProviderError` for an HTTP error status.

    401/403 → `AuthenticationError`; 429 → `RateLimitError` (retryable); 5xx →
    `ProviderUnavailableError` (retryable; ambiguous except 503); a context overflow
    the adapter recognised → `ContextWindowExceededError`; 408/409 → retryable
    `ProviderError`; anything else a plain, final `ProviderError`.
    """
    text = redact(message)
    if context_overflow:
        return ContextWindowExceededError(text, provider=provider, status_code=status)
    if status in (401, 403):
        return AuthenticationError(text, provider=provider, status_code=status)
    if status == 429:
        return RateLimitError(
            text, provider=provider, status_code=status, retryable=True, retry_after=retry_after
        )
    if status >= 500:
        return ProviderUnavailableError(
            text,
            provider=provider,
            status_code=status,
            retryable=True,
            retry_after=retry_after,
            ambiguous=status not in _UNAMBIGUOUS_5XX,
        )
    return ProviderError(
        text,
        provider=provider,
        status_code=status,
        retryable=status in _RETRYABLE_STATUS,
        retry_after=retry_after,
        ambiguous=status == 408,
    )


def transport_error(provider: str, message: str) -> ProviderUnavailableError:
    """A timeout or a lost connection: retryable, and ambiguous (it may have landed)."""
    return ProviderUnavailableError(
        redact(message), provider=provider, retryable=True, ambiguous=True
    )


_DONE = object()


def _next_or_done(iterator: Iterator[T]) -> T | object:
    return next(iterator, _DONE)


class SdkCaller:
    """Calls into one SDK client, sync or async, from async code."""

    def __init__(self, *, is_async: bool) -> None:
        self.is_async = is_async

    async def __call__(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)``: awaited for async clients, in a thread for sync ones."""
        if self.is_async:
            return await fn(*args, **kwargs)
        import anyio.to_thread

        return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs))

    async def iterate(self, stream: Any) -> AsyncIterator[Any]:
        """The items of an SDK stream; a sync stream is pulled one item per thread hop."""
        if self.is_async:
            async for item in stream:
                yield item
            return
        import anyio.to_thread

        iterator = iter(stream)
        while True:
            item = await anyio.to_thread.run_sync(_next_or_done, iterator)
            if item is _DONE:
                return
            yield item

    async def close(self, resource: Any) -> None:
        """Close a stream or client (``close()``, awaited when async)."""
        close = getattr(resource, "close", None)
        if close is None:
            return
        if self.is_async:
            await cast(Callable[[], Any], close)()
            return
        import anyio.to_thread

        await anyio.to_thread.run_sync(close)
