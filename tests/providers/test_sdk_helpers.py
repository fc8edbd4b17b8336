"""The SDK machinery shared by providers: error mapping, Retry-After, key redaction."""

from __future__ import annotations

import pytest

import threadline as tl
from threadline.providers._sdk import parse_retry_after, redact, status_error, transport_error


@pytest.mark.parametrize(
    ("status", "cls", "retryable", "ambiguous"),
    [
        (400, tl.ProviderError, False, False),
        (401, tl.AuthenticationError, False, False),
        (403, tl.AuthenticationError, False, False),
        (404, tl.ProviderError, False, False),
        (408, tl.ProviderError, True, True),
        (409, tl.ProviderError, True, False),
        (429, tl.RateLimitError, True, False),
        (500, tl.ProviderUnavailableError, True, True),
        (502, tl.ProviderUnavailableError, True, True),
        (503, tl.ProviderUnavailableError, True, False),
        (504, tl.ProviderUnavailableError, True, True),
    ],
)
def test_status_codes_map_onto_the_error_tree(
    status: int, cls: type[tl.ProviderError], retryable: bool, ambiguous: bool
) -> None:
    """Each status gets its class, retryability and ambiguity (may the server hold it?)."""
    error = status_error("openai", status, "msg", retry_after=2.0)
    assert type(error) is cls
    assert (error.status_code, error.retryable, error.ambiguous) == (status, retryable, ambiguous)
    assert error.provider == "openai" and str(error) == f"openai {status}: msg"


def test_context_overflow_wins_over_the_status() -> None:
    error = status_error("openai", 400, "too long", context_overflow=True)
    assert type(error) is tl.ContextWindowExceededError and not error.retryable


def test_transport_errors_are_retryable_and_ambiguous() -> None:
    error = transport_error("openai", "timed out")
    assert type(error) is tl.ProviderUnavailableError
    assert error.retryable and error.ambiguous and error.status_code is None


def test_retry_after_in_seconds_milliseconds_or_an_http_date() -> None:
    assert parse_retry_after({"retry-after": "7"}) == 7.0
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=1445412480) == 10
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({"retry-after": "-3"}) is None
    assert parse_retry_after({}) is None


def test_api_keys_are_redacted_from_messages() -> None:
    message = "Incorrect API key provided: sk-proj-abcd1234***wxyz and AIzaSyA1234567890abcdef"
    assert redact(message) == "Incorrect API key provided: [redacted key] and [redacted key]"
    assert "sk-" not in str(status_error("openai", 401, message))
