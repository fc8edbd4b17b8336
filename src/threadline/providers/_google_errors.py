"""Gemini SDK errors, failed interactions and unreadable replies, on threadline's tree.

google-genai raises from two unrelated families, mapped here in one place:

- ``models.*`` (local mode): ``google.genai.errors.APIError`` (``ClientError`` 4xx,
  ``ServerError`` 5xx) with ``.code``, ``.status`` (``RESOURCE_EXHAUSTED``...) and
  ``.message``; timeouts and dropped connections surface as raw ``httpx2``/``httpx``
  errors, and a reply that is not JSON as ``json.JSONDecodeError`` (a stream's as
  ``UnknownApiResponseError``).
- ``interactions.*`` (native mode): ``google.genai._interactions_errors.APIError`` and
  subclasses (``APIStatusError`` with ``.status_code`` and the parsed ``.body``,
  ``APITimeoutError``, ``APIConnectionError``, ``APIResponseValidationError``), which
  are *not* ``genai.errors.APIError`` subclasses, plus
  ``google.genai.errors.ContinuationInterruptedError`` when automatic continuation
  fails after the server produced (and stored) part of the reply.

The SDK exceptions hold the request (and its ``x-goog-api-key`` header) and messages
that quote whole bodies, so the engine never chains them: it raises the mapped error
with neither ``__cause__`` nor ``__context__``, keeping only redacted facts (status,
the server's message, ``Retry-After``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import import_module
from typing import Any

from ..errors import (
    AuthenticationError,
    ContextWindowExceededError,
    ProviderError,
    RateLimitError,
    ThreadlineError,
    ValidationError,
)
from ._sdk import parse_retry_after, redact, status_error, transport_error, unreadable

__all__ = ["failure", "lost_state", "map_error", "sdk_errors", "status_failure"]

_RATE_CODES = ("RESOURCE_EXHAUSTED", "RATE_LIMIT")
_SERVER_CODES = ("INTERNAL", "UNAVAILABLE", "SERVER_ERROR", "DEADLINE_EXCEEDED")


def _module(name: str) -> Any:
    try:
        return import_module(name)
    except ImportError:
        return None


@cache
def sdk_errors() -> tuple[type[BaseException], ...]:
    """Every exception class a Gemini SDK call may raise for a provider-side reason."""
    classes: list[type[BaseException]] = [json.JSONDecodeError]
    for module, names in (
        (
            "google.genai.errors",
            ("APIError", "ContinuationInterruptedError", "UnknownApiResponseError"),
        ),
        ("google.genai._interactions_errors", ("GeminiNextGenAPIClientError",)),
        ("google.auth.exceptions", ("GoogleAuthError",)),
        ("httpx2", ("HTTPError",)),
        ("httpx", ("HTTPError",)),
        ("pydantic", ("ValidationError",)),
    ):
        found = _module(module)
        classes.extend(getattr(found, name) for name in names if found is not None)
    return tuple(classes)


def _is(exc: BaseException, module: str, name: str) -> bool:
    cls = getattr(_module(module), name, None)
    return isinstance(cls, type) and isinstance(exc, cls)


def _error_body(body: object) -> Mapping[str, Any]:
    """The ``error`` object of a Google error body, ``{}`` if there is none."""
    if isinstance(body, list) and len(body) == 1:
        body = body[0]
    error = body.get("error") if isinstance(body, Mapping) else None
    return error if isinstance(error, Mapping) else {}


def is_context_overflow(message: str) -> bool:
    """Whether an error message says the prompt no longer fits the context window."""
    lowered = message.lower()
    return "context window" in lowered or (
        "token count" in lowered and "exceeds the maximum" in lowered
    )


def _status(provider: str, status: int, message: str, headers: Any) -> ProviderError:
    return status_error(
        provider,
        status,
        message,
        retry_after=parse_retry_after(headers),
        context_overflow=status == 400 and is_context_overflow(message),
    )


def map_error(exc: BaseException, provider: str, *, local: bool = False) -> ThreadlineError:
    """An exception from a Gemini SDK call as threadline's error tree.

    A pydantic error from ``interactions.create`` means a turn option had a bad value
    (the SDK checks the request before sending; replies are not validated): a
    `ValidationError`. From ``generate_content`` (``local``), whose options are checked
    beforehand, it means a reply of the wrong shape.
    """
    if isinstance(exc, ThreadlineError):
        return exc
    if _is(exc, "google.genai.errors", "ContinuationInterruptedError"):
        # Earlier hops are stored and billed; the turn as a whole failed after progress.
        hops = len(getattr(exc, "continuation_ids", None) or ())
        return transport_error(provider, f"automatic continuation broke off after {hops} hop(s)")
    if _is(exc, "google.genai.errors", "APIError"):  # models.* (local mode)
        message = str(getattr(exc, "message", None) or getattr(exc, "status", None) or "")
        response = getattr(exc, "response", None)
        return _status(provider, int(exc.code or 0), message, getattr(response, "headers", None))  # type: ignore[attr-defined]
    if _is(exc, "google.genai._interactions_errors", "APITimeoutError"):
        return transport_error(provider, "the request timed out")
    if _is(exc, "google.genai._interactions_errors", "APIConnectionError"):
        return transport_error(provider, "the connection failed or was cut")
    if _is(exc, "google.genai._interactions_errors", "APIResponseValidationError"):
        return unreadable(provider, "the interaction did not match its schema")
    if _is(exc, "google.genai._interactions_errors", "APIStatusError"):
        error = _error_body(getattr(exc, "body", None))
        message = str(error.get("message") or "the request failed")
        status = int(getattr(exc, "status_code", 0) or 0)
        return _status(provider, status, message, getattr(exc.response, "headers", None))  # type: ignore[attr-defined]
    if _is(exc, "google.genai._interactions_errors", "APIError"):
        return unreadable(provider, "not an interaction")  # e.g. a 200 with an HTML body
    if _is(exc, "google.auth.exceptions", "GoogleAuthError"):
        return AuthenticationError("could not get Google Cloud credentials", provider=provider)
    if _is(exc, "httpx2", "TimeoutException") or _is(exc, "httpx", "TimeoutException"):
        return transport_error(provider, "the request timed out")
    if _is(exc, "httpx2", "HTTPError") or _is(exc, "httpx", "HTTPError"):
        return transport_error(provider, "the connection failed or was cut")
    if not local and _is(exc, "pydantic", "ValidationError"):
        return ValidationError(f"a turn option was refused before sending: {_option_problem(exc)}")
    if isinstance(exc, ValueError):  # JSONDecodeError, pydantic's ValidationError
        return unreadable(provider, "not JSON, or not the expected shape")
    return ProviderError(redact(type(exc).__name__), provider=provider)


def _option_problem(exc: Any) -> str:
    """Where a request failed the SDK's check: the model-interaction branch of its
    union (the agent branch always complains that ``agent`` is missing)."""
    for error in exc.errors():
        loc = [str(p) for p in error["loc"]]
        if "CreateModelInteraction" in loc:
            return f"{'.'.join(loc[loc.index('CreateModelInteraction') + 1 :])}: {error['msg']}"
    return "the request does not match the API's schema"


def lost_state(exc: BaseException) -> bool:
    """Whether the server says the previous interaction is unknown or not continuable.

    A 404 for ``interactions.create`` names the previous interaction unless it names
    the model; a 400/409 counts when its message is about the previous interaction.
    """
    if not _is(exc, "google.genai._interactions_errors", "APIStatusError"):
        return False
    status = getattr(exc, "status_code", None)
    message = str(_error_body(getattr(exc, "body", None)).get("message") or "").lower()
    if status == 404:
        return "model" not in message
    return status in (400, 409) and (
        "previous_interaction" in message
        or ("interaction" in message and ("not found" in message or "terminal" in message))
    )


def failure(provider: str, code: object, message: object) -> ProviderError:
    """An interaction that failed server-side (status ``failed``, an ``error`` event)."""
    text = redact(str(message or "the interaction failed"))
    code_text = str(code or "").upper()
    if is_context_overflow(text):
        return ContextWindowExceededError(text, provider=provider)
    if any(c in code_text for c in _RATE_CODES) or code_text == "429":
        return RateLimitError(text, provider=provider, retryable=True)
    if any(c in code_text for c in _SERVER_CODES) or code_text.startswith("5"):
        return status_error(provider, 503, text)  # failed, not ambiguous: it said so
    return ProviderError(text, provider=provider)


def status_failure(provider: str, status: str, interaction: Mapping[str, Any]) -> ProviderError:
    """The error for an interaction that ended in a status other than completed or
    requires_action (failed, cancelled, incomplete, budget_exceeded, ...)."""
    if status == "failed":
        candidates = [*(interaction.get("errors") or ())]
        candidates += [step.get("error") for step in interaction.get("steps") or ()]
        first = next((e for e in candidates if isinstance(e, Mapping)), {})
        return failure(provider, first.get("code"), first.get("message"))
    reasons = {
        "cancelled": "the interaction was cancelled",
        "incomplete": "the reply is incomplete (the output token limit or a stop condition "
        "cut it short)",
        "budget_exceeded": "the interaction exceeded its budget",
        "requires_continuation": "the reply stopped at the per-request limit and automatic "
        "continuation did not finish it",
    }
    if status in reasons:
        return ProviderError(reasons[status], provider=provider)
    # in_progress, queued, idle or unknown: the server may still be working on it.
    return unreadable(provider, f"the interaction ended in status {status!r}")
