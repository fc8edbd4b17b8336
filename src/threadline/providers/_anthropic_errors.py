"""Anthropic SDK errors, mapped onto threadline's error tree in one place.

The SDK puts the whole response body in an exception's message and the request (with
its ``Authorization`` header) on the exception itself. So a mapped error keeps only
redacted facts (status, the server's own ``error.message``, ``Retry-After``) and the
engines raise it with no link to the SDK exception: neither ``__cause__`` nor
``__context__`` can lead back to the key.

Thread rejections are read here too: which ones a re-seed recovers from, and which
request fields the server cannot combine with a thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ProviderError
from . import _anthropic_wire as wire
from ._sdk import parse_retry_after, status_error, transport_error, unreadable

__all__ = ["RESEED_CODES", "malformed", "map_error", "reseed_code", "unsupported_features"]

# A thread the next request cannot continue: replaying the mirror under a new thread
# recovers (the SDK's thread helper does the same for the first three).
RESEED_CODES = frozenset(
    {
        "thread_not_found",
        "thread_already_continued",
        "thread_continue_in_flight",
        "thread_fingerprint_mismatch",
    }
)

# An ``error`` event inside a stream arrives with HTTP 200: its ``error.type`` says
# what it would have been as a status.
_STATUS_OF_TYPE = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


def _error_object(body: object) -> Mapping[str, Any]:
    error = body.get("error") if isinstance(body, Mapping) else None
    return error if isinstance(error, Mapping) else {}


def map_error(anthropic: Any, exc: Exception, provider: str) -> ProviderError:
    """An SDK exception as threadline's error tree (``anthropic`` is the SDK module)."""
    if isinstance(exc, anthropic.APIStatusError):
        error = _error_object(exc.body)
        status = exc.status_code
        in_stream = status < 400
        if in_stream:
            status = _STATUS_OF_TYPE.get(str(error.get("type")), 500)
        message = str(error.get("message") or f"HTTP {status}")
        mapped = status_error(
            provider,
            status,
            message,
            retry_after=parse_retry_after(exc.response.headers),
            context_overflow=wire.is_context_overflow(status, message),
        )
        if in_stream:
            # The reply had begun: the server may hold the turn.
            mapped.ambiguous = True
        return mapped
    if isinstance(exc, anthropic.APITimeoutError):
        return transport_error(provider, "the request timed out")
    if isinstance(exc, anthropic.APIConnectionError):
        return transport_error(provider, "the connection failed or was cut")
    if isinstance(exc, anthropic.APIResponseValidationError):
        return malformed(provider, "the reply did not match the API's schema")
    return ProviderError(f"the Anthropic SDK failed: {type(exc).__name__}", provider=provider)


def malformed(provider: str, what: str) -> ProviderError:
    """A reply that cannot be read: ambiguous, since the server may hold the turn, and
    retryable like every provider's (a retry continues from the old reply id and is
    re-seeded if the server already took the turn)."""
    return unreadable(provider, what)


def unsupported_features(exc: Any) -> list[str] | None:
    """The ``unsupported`` list of a ``thread_unsupported_request`` rejection (possibly
    empty), or None for any other error."""
    if getattr(exc, "error_code", None) != "thread_unsupported_request":
        return None
    details = _error_object(getattr(exc, "body", None)).get("details")
    listed = details.get("unsupported") if isinstance(details, Mapping) else None
    return [str(name) for name in listed] if isinstance(listed, list) else []


def reseed_code(exc: Any) -> str | None:
    """The ``error_code`` of a thread rejection that a re-seed recovers from, if it is one."""
    code = getattr(exc, "error_code", None)
    return code if code in RESEED_CODES else None
