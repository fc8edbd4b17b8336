"""OpenAI failures the server reports inside a 200: a ``status: "failed"`` response,
``response.failed`` and ``error`` stream events, mapped by their failure code.

``rate_limit_exceeded`` is a retryable `RateLimitError`; ``context_length_exceeded``
a final `ContextWindowExceededError`; ``server_error`` a retryable 503 (refused, not
ambiguous); any other code a final `ProviderError` with the server's message (or
"the response failed" when it sent none). Nothing is mirrored for a failed turn.
"""

from __future__ import annotations

from typing import Any

import pytest
from openai_fake import Fault, Flavor

import threadline as tl
from threadline.testing import sse_body

CASES = [
    # code, error class, retryable, status code
    ("rate_limit_exceeded", tl.RateLimitError, True, None),
    ("context_length_exceeded", tl.ContextWindowExceededError, False, None),
    ("server_error", tl.ProviderUnavailableError, True, 503),
    ("invalid_prompt", tl.ProviderError, False, None),
]


def failed_json(code: str | None, message: str) -> Any:
    """A non-streamed reply: the response object itself says it failed."""

    def rewrite(response: dict[str, Any]) -> dict[str, Any]:
        return {
            **response,
            "status": "failed",
            "output": [],
            "error": {"code": code, "message": message},
        }

    return rewrite


def flat_error_event(code: str, message: str) -> bytes:
    return sse_body(
        [{"type": "error", "code": code, "message": message, "param": None, "sequence_number": 0}]
    )


def nested_error_event(code: str, message: str) -> bytes:
    return sse_body([{"type": "error", "error": {"code": code, "message": message}}])


def assert_error(
    error: tl.ProviderError, kind: type[tl.ProviderError], retryable: bool, status: int | None
) -> None:
    assert type(error) is kind
    assert (error.retryable, error.status_code, error.ambiguous) == (retryable, status, False)
    assert error.provider == "openai"


@pytest.mark.parametrize(("code", "kind", "retryable", "status"), CASES)
async def test_a_non_streamed_failed_response_is_mapped_by_its_code(
    flavor: Flavor, code: str, kind: type[tl.ProviderError], retryable: bool, status: int | None
) -> None:
    server = flavor.server
    s = await flavor.create(max_attempts=1)
    server.faults = [Fault(malformed=failed_json(code, "It went wrong."))]
    with pytest.raises(kind, match="It went wrong") as caught:
        await s.send("hi")
    assert_error(caught.value, kind, retryable, status)
    assert s.messages == []


@pytest.mark.parametrize(("code", "kind", "retryable", "status"), CASES)
@pytest.mark.parametrize("shape", ["response.failed", "flat error", "nested error"])
async def test_a_failure_inside_a_stream_is_mapped_by_its_code(
    flavor: Flavor,
    code: str,
    kind: type[tl.ProviderError],
    retryable: bool,
    status: int | None,
    shape: str,
) -> None:
    server = flavor.server
    s = await flavor.create(max_attempts=1)
    if shape == "response.failed":
        fault = Fault(failed={"code": code, "message": "It went wrong."})
    elif shape == "flat error":
        fault = Fault(malformed=flat_error_event(code, "It went wrong."))
    else:
        fault = Fault(malformed=nested_error_event(code, "It went wrong."))
    server.faults = [fault]
    with pytest.raises(kind, match="It went wrong") as caught:
        await s.stream("hi")
    assert_error(caught.value, kind, retryable, status)
    assert s.messages == []


async def test_a_rate_limited_failed_response_is_retried_and_answered(
    flavor: Flavor, sleeps: list[float]
) -> None:
    server = flavor.server
    s = await flavor.create()
    server.faults = [Fault(malformed=failed_json("rate_limit_exceeded", "Slow down."))]
    reply = await s.send("hi")
    assert reply.text == "re: hi"
    assert len(sleeps) == 1 and len(server.response_bodies) == 2
    assert [m.text for m in s.messages] == ["hi", "re: hi"]


async def test_a_context_overflow_in_a_stream_is_not_retried(
    flavor: Flavor, sleeps: list[float]
) -> None:
    server = flavor.server
    s = await flavor.create()
    server.faults = [Fault(malformed=flat_error_event("context_length_exceeded", "Too long."))]
    with pytest.raises(tl.ContextWindowExceededError, match="Too long"):
        await s.stream("hi")
    assert (sleeps, len(server.response_bodies)) == ([], 1)


@pytest.mark.parametrize("code", [None, "invalid_prompt"])
async def test_a_failure_without_a_message_still_says_it_failed(
    flavor: Flavor, code: str | None
) -> None:
    server = flavor.server
    s = await flavor.create(max_attempts=1)
    server.faults = [Fault(malformed=failed_json(code, ""))]
    with pytest.raises(tl.ProviderError, match="the response failed") as caught:
        await s.send("hi")
    assert type(caught.value) is tl.ProviderError and not caught.value.retryable
