"""OpenAI SDK errors and failed responses, mapped onto threadline's error tree."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ContextWindowExceededError, ProviderError, RateLimitError
from . import _openai_wire as wire
from ._sdk import parse_retry_after, redact, status_error, transport_error


def map_error(openai: Any, exc: Exception, provider: str) -> ProviderError:
    """An SDK exception as threadline's error tree (``openai`` is the SDK module)."""
    if isinstance(exc, openai.APIStatusError):
        body = exc.body if isinstance(exc.body, Mapping) else {}
        message = str(body.get("message") or exc.message)
        return status_error(
            provider,
            exc.status_code,
            message,
            retry_after=parse_retry_after(exc.response.headers),
            context_overflow=wire.is_context_overflow(body.get("code"), message),
        )
    if isinstance(exc, openai.APITimeoutError):
        return transport_error(provider, "the request timed out")
    if isinstance(exc, openai.APIConnectionError):
        return transport_error(provider, "the connection failed or was cut")
    if isinstance(exc, openai.APIError):  # an error event inside a stream
        body = exc.body if isinstance(exc.body, Mapping) else {}
        return failure(provider, body.get("code"), exc.message)
    return ProviderError(redact(str(exc)), provider=provider)


def failure(provider: str, code: object, message: str) -> ProviderError:
    """A response that failed server-side (``response.failed``, an ``error`` event)."""
    text = redact(message or "the response failed")
    code = str(code) if code else None
    if wire.is_context_overflow(code, text):
        return ContextWindowExceededError(text, provider=provider)
    if code == "rate_limit_exceeded":
        return RateLimitError(text, provider=provider, retryable=True)
    if code in ("server_error", "internal_error", "server_overloaded"):
        return status_error(provider, 503, text)  # failed, not ambiguous: nothing stored
    return ProviderError(text, provider=provider)


def lost_state(openai: Any, exc: Exception) -> bool:
    """Whether the server says the conversation or previous response is gone."""
    if not isinstance(exc, openai.APIStatusError) or exc.status_code not in (400, 404):
        return False
    body = exc.body if isinstance(exc.body, Mapping) else {}
    if body.get("param") in ("conversation", "previous_response_id"):
        return True
    if body.get("code") in ("conversation_not_found", "previous_response_not_found"):
        return True
    message = str(body.get("message") or "").lower()
    return (
        exc.status_code == 404
        and body.get("code") != "model_not_found"
        and ("conversation" in message or "response" in message)
    )
