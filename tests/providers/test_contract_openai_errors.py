"""(Unit) the OpenAI error mapping, as a table: SDK exception in, threadline error out.

`map_error` decides class, message, ``retry_after``, ``retryable`` and ``ambiguous``
for every OpenAI failure; `lost_state` decides when a 400/404 means the server no
longer has the conversation (so the turn re-seeds instead of failing). A wrong
answer here either retries what must not be retried, stores a turn twice, or drops
a conversation that still exists.
"""

from __future__ import annotations

from typing import Any

import httpx2
import openai
import pytest

import threadline as tl
from threadline.providers._openai_errors import failure, lost_state, map_error
from threadline.providers._sdk import parse_retry_after, status_error, transport_error, unreadable

REQUEST = httpx2.Request("POST", "https://api.openai.com/v1/responses")


def status(code: int, body: Any, headers: dict[str, str] | None = None) -> openai.APIStatusError:
    response = httpx2.Response(code, request=REQUEST, headers=headers or {})
    return openai.APIStatusError(f"Error code: {code}", response=response, body=body)


def mapped(exc: Exception) -> tl.ProviderError:
    return map_error(openai, exc, "openai")


# -- map_error ------------------------------------------------------------------------------


def test_a_status_error_takes_the_bodys_message_and_the_retry_after_header() -> None:
    error = mapped(status(429, {"message": "Rate limit reached"}, {"retry-after": "3"}))
    assert type(error) is tl.RateLimitError
    assert str(error) == "openai 429: Rate limit reached"
    assert (error.retry_after, error.retryable, error.status_code) == (3.0, True, 429)
    error = mapped(status(502, {"message": "bad gateway"}, {"retry-after-ms": "250"}))
    assert type(error) is tl.ProviderUnavailableError
    assert (error.retry_after, error.ambiguous) == (0.25, True)


@pytest.mark.parametrize("body", [None, "not a mapping", {"message": None}, {}])
def test_without_a_message_in_the_body_the_sdks_message_is_used(body: Any) -> None:
    error = mapped(status(500, body))
    assert str(error) == "openai 500: Error code: 500"
    assert error.retry_after is None


@pytest.mark.parametrize(
    "body",
    [
        {"message": "Too long.", "code": "context_length_exceeded"},
        {"message": "Your input exceeds the context window of this model.", "code": None},
    ],
)
def test_a_context_overflow_is_recognised_by_code_or_message(body: dict[str, Any]) -> None:
    error = mapped(status(400, body))
    assert type(error) is tl.ContextWindowExceededError
    assert (error.status_code, error.retryable) == (400, False)


def test_timeouts_and_lost_connections_are_retryable_and_ambiguous() -> None:
    timeout = mapped(openai.APITimeoutError(request=REQUEST))
    lost = mapped(openai.APIConnectionError(request=REQUEST))
    assert str(timeout) == "openai: the request timed out"
    assert str(lost) == "openai: the connection failed or was cut"
    for error in (timeout, lost):
        assert type(error) is tl.ProviderUnavailableError
        assert (error.retryable, error.ambiguous, error.status_code) == (True, True, None)


@pytest.mark.parametrize(
    ("code", "kind", "retryable"),
    [
        ("rate_limit_exceeded", tl.RateLimitError, True),
        ("context_length_exceeded", tl.ContextWindowExceededError, False),
        ("server_error", tl.ProviderUnavailableError, True),
        ("internal_error", tl.ProviderUnavailableError, True),
        ("server_overloaded", tl.ProviderUnavailableError, True),
        ("invalid_prompt", tl.ProviderError, False),
        (None, tl.ProviderError, False),
    ],
)
def test_an_error_event_inside_a_stream_is_mapped_by_its_code(
    code: str | None, kind: type[tl.ProviderError], retryable: bool
) -> None:
    error = mapped(openai.APIError("it broke", REQUEST, body={"code": code}))
    assert type(error) is kind
    assert (error.retryable, error.ambiguous) == (retryable, False)
    assert error.args[0] == "it broke"
    assert error.status_code == (503 if kind is tl.ProviderUnavailableError else None)


@pytest.mark.parametrize("body", [None, "not a mapping"])
def test_an_error_event_without_a_body_is_a_plain_final_error(body: Any) -> None:
    error = mapped(openai.APIError("it broke", REQUEST, body=body))
    assert type(error) is tl.ProviderError
    assert (error.args[0], error.retryable) == ("it broke", False)


def test_anything_else_is_a_final_error_with_keys_redacted() -> None:
    error = mapped(ValueError("bad thing near sk-abcdef123456"))
    assert type(error) is tl.ProviderError
    assert error.args[0] == "bad thing near [redacted key]"
    assert (error.retryable, error.ambiguous, error.provider) == (False, False, "openai")


def test_failure_redacts_and_names_a_failure_without_a_message() -> None:
    error = failure("openai", "invalid_prompt", "key sk-abcdef123456 refused")
    assert error.args[0] == "key [redacted key] refused"
    assert failure("openai", None, "").args[0] == "the response failed"
    assert failure("openai", "", "x").args[0] == "x"
    assert type(failure("openai", 0, "x")) is tl.ProviderError


# -- lost_state -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "body", "lost"),
    [
        (400, {"param": "conversation", "message": "Invalid conversation."}, True),
        (400, {"param": "previous_response_id", "message": "x"}, True),
        (404, {"param": "conversation", "message": "x"}, True),
        (400, {"code": "conversation_not_found", "message": "x"}, True),
        (400, {"code": "previous_response_not_found", "message": "x"}, True),
        (404, {"message": "Conversation with id 'conv_1' not found."}, True),
        (404, {"message": "Response with id 'resp_1' not found."}, True),
        (
            404,
            {"code": "model_not_found", "message": "The model 'x' (response) does not exist"},
            False,
        ),
        (404, {"message": "No such route."}, False),
        (400, {"message": "Conversation is too long."}, False),
        (400, {"param": "model", "message": "x"}, False),
        (409, {"param": "conversation", "code": "conversation_not_found"}, False),
        (500, {"param": "conversation"}, False),
        (404, None, False),
        (404, "not a mapping", False),
    ],
)
def test_lost_state_only_when_the_server_says_the_conversation_is_gone(
    code: int, body: Any, lost: bool
) -> None:
    assert lost_state(openai, status(code, body)) is lost


def test_lost_state_is_false_for_errors_that_are_not_http_statuses() -> None:
    assert lost_state(openai, openai.APITimeoutError(request=REQUEST)) is False
    assert lost_state(openai, ValueError("conversation not found")) is False


# -- the shared helpers every adapter uses --------------------------------------------------


@pytest.mark.parametrize("code", [408, 409, 429, 500, 502, 503, 504, 418])
def test_every_retryable_kind_of_status_error_carries_retry_after(code: int) -> None:
    assert status_error("openai", code, "m", retry_after=2.5).retry_after == 2.5
    assert status_error("openai", code, "m").retry_after is None


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after-ms": "0"}, 0.0),
        ({"retry-after-ms": "0", "retry-after": "9"}, 0.0),
        ({"retry-after-ms": "20"}, 0.02),
        ({"retry-after-ms": "soon", "retry-after": "4"}, 4.0),
        ({"retry-after-ms": "-5", "retry-after": "3"}, 3.0),
        ({"retry-after-ms": "", "retry-after": "3"}, 3.0),
        ({"retry-after-ms": "soon"}, None),
        ({"retry-after": "0"}, 0.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after": ""}, None),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
        (None, None),
    ],
)
def test_retry_after_headers(headers: dict[str, str] | None, seconds: float | None) -> None:
    assert parse_retry_after(headers, now=1445412490) == seconds


def test_an_http_date_is_measured_from_now() -> None:
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=1445412480) == 10
    far = parse_retry_after({"retry-after": "Fri, 01 Jan 2100 00:00:00 GMT"})
    assert far is not None and far > 60 * 60 * 24 * 365 * 50


def test_a_client_of_the_wrong_kind_is_named_by_its_top_level_package() -> None:
    from json.decoder import JSONDecoder

    from threadline._concurrency import ASYNC_FACE, SYNC_FACE
    from threadline.providers._sdk import check_client

    with pytest.raises(tl.ConfigurationError) as caught:
        check_client("openai", JSONDecoder(), openai.OpenAI, SYNC_FACE)
    assert str(caught.value) == (
        "the openai provider of a SessionManager needs a client of type openai.OpenAI,"
        " not json.JSONDecoder"
    )
    with pytest.raises(tl.ConfigurationError) as caught:
        check_client("x", object(), JSONDecoder, ASYNC_FACE)
    assert str(caught.value) == (
        "the x provider of a AsyncSessionManager needs a client of type json.JSONDecoder,"
        " not builtins.object"
    )
    check_client("x", JSONDecoder(), JSONDecoder, ASYNC_FACE)  # the right kind passes


def test_transport_and_unreadable_errors_redact_and_say_what_happened() -> None:
    lost = transport_error("openai", "cut near sk-abcdef123456")
    assert lost.args[0] == "cut near [redacted key]"
    garbled = unreadable("openai", "got sk-abcdef123456")
    assert type(garbled) is tl.ProviderError
    assert garbled.args[0] == "the reply could not be read: got [redacted key]"
    assert (garbled.retryable, garbled.ambiguous, garbled.provider) == (True, True, "openai")
