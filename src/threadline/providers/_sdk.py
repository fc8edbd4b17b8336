"""Machinery every SDK-backed provider shares: importing the SDK, calling it, mapping its errors.

The OpenAI adapter is the first user; the Anthropic and Google adapters follow the
same pattern, so nothing here knows about one provider:

- `require` imports an optional SDK or raises the one "install the extra" error.
- `check_client` refuses an SDK client of the wrong face, saying which to pass.
- `status_error` / `transport_error` turn an HTTP status or a lost request into the
  error tree of `threadline.errors`, with ``retryable``, ``retry_after`` and
  ``ambiguous`` decided in one place (see `status_error` for the policy).
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping
from importlib import import_module
from types import ModuleType
from typing import Any

from .._concurrency import ASYNC_FACE, Face
from ..errors import (
    AuthenticationError,
    ConfigurationError,
    ContextWindowExceededError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitError,
)

__all__ = [
    "check_client",
    "parse_retry_after",
    "redact",
    "require",
    "status_error",
    "transport_error",
    "unreadable",
]

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


def unreadable(provider: str, what: str) -> ProviderError:
    """A reply that arrived but cannot be read (not JSON, wrong shape, a broken stream).

    The server may hold the turn, so it is ambiguous: the session drops its
    server-side copy rather than continue a conversation the mirror cannot match.
    Retryable: a proxy's garbage is often transient, and a retry after an ambiguous
    failure first checks whether the turn landed.
    """
    return ProviderError(
        f"the reply could not be read: {redact(what)}",
        provider=provider,
        retryable=True,
        ambiguous=True,
    )


def check_client(provider: str, client: Any, expected: type, face: Face) -> None:
    """Refuse a client of the wrong face (or not an SDK client at all), saying what to pass.

    A `SessionManager` calls the SDK's blocking client and an `AsyncSessionManager` its
    async one; either call on the other kind would fail deep inside the SDK.
    """
    if isinstance(client, expected):
        return
    manager = "AsyncSessionManager" if face == ASYNC_FACE else "SessionManager"
    module = expected.__module__.split(".")[0]
    given = f"{type(client).__module__.split('.')[0]}.{type(client).__name__}"
    raise ConfigurationError(
        f"the {provider} provider of a {manager} needs a client of type"
        f" {module}.{expected.__name__}, not {given}"
    )
