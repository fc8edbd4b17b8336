"""The retry contract (`tl.RetryPolicy`), checked through sessions on the async face.

What docs/`RetryPolicy` promise: waits grow from ``initial_backoff``, doubling, each
drawn below a bound that never passes ``max_backoff``; a server's ``Retry-After`` is
the wait, used as given (however short), and an error asking for more than
``max_backoff`` is raised instead of slept on; each retry is reported with its own
attempt number; and a turn that failed ambiguously on ANY attempt is treated as one
that may have reached the server.
"""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

import threadline as tl
from threadline.providers.base import StreamEvent, TurnRequest, TurnResult
from threadline.testing import AsyncEchoEngine, EchoProvider, capture_telemetry


def unavailable(*, ambiguous: bool = False) -> tl.ProviderUnavailableError:
    status = 504 if ambiguous else 503
    return tl.ProviderUnavailableError(
        "busy", provider="echo", status_code=status, retryable=True, ambiguous=ambiguous
    )


def limited(retry_after: float) -> tl.RateLimitError:
    return tl.RateLimitError(
        "slow down", provider="echo", status_code=429, retryable=True, retry_after=retry_after
    )


async def send_once(echo: EchoProvider, policy: tl.RetryPolicy, **options: Any) -> tl.Message:
    async with tl.AsyncSessionManager(
        "memory://", providers=[echo], retry=policy, **options
    ) as manager:
        session = await manager.create()
        return await session.send("hello")


# -- the policy itself ----------------------------------------------------------------


def test_a_policy_refuses_a_cap_below_the_first_wait_and_accepts_the_edges() -> None:
    with pytest.raises(tl.ValidationError, match=r"^need 0 <= initial_backoff <= max_backoff$"):
        tl.RetryPolicy(initial_backoff=2.0, max_backoff=1.0)
    with pytest.raises(tl.ValidationError, match=r"^need 0 <= initial_backoff <= max_backoff$"):
        tl.RetryPolicy(initial_backoff=-0.1, max_backoff=1.0)
    with pytest.raises(tl.ValidationError, match=r"^max_attempts must be at least 1$"):
        tl.RetryPolicy(max_attempts=0)
    equal = tl.RetryPolicy(max_attempts=1, initial_backoff=1.5, max_backoff=1.5)
    assert (equal.max_attempts, equal.initial_backoff, equal.max_backoff) == (1, 1.5, 1.5)
    assert tl.RetryPolicy(initial_backoff=0, max_backoff=0).max_backoff == 0


def test_a_policy_refuses_what_is_not_a_finite_number_of_seconds() -> None:
    """NaN compares false with everything: it slipped past the range checks and made
    every wait NaN. Bools and strings are refused by type."""
    with pytest.raises(
        tl.ValidationError, match=r"^initial_backoff must be a finite number of seconds, not nan$"
    ):
        tl.RetryPolicy(initial_backoff=math.nan)
    with pytest.raises(
        tl.ValidationError, match=r"^max_backoff must be a finite number of seconds, not inf$"
    ):
        tl.RetryPolicy(max_backoff=math.inf)
    with pytest.raises(TypeError, match=r"^max_backoff must be a number of seconds, not str$"):
        tl.RetryPolicy(max_backoff="20")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^initial_backoff must be a number of seconds, not bool$"):
        tl.RetryPolicy(initial_backoff=True)
    with pytest.raises(TypeError, match=r"^max_attempts must be an int, not float$"):
        tl.RetryPolicy(max_attempts=2.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^max_attempts must be an int, not bool$"):
        tl.RetryPolicy(max_attempts=True)
    assert tl.RetryPolicy(initial_backoff=1, max_backoff=2).max_backoff == 2


# -- backoff ----------------------------------------------------------------------------


async def test_backoff_doubles_from_initial_up_to_the_cap(
    no_sleep: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Full jitter draws each wait from [0, bound]: with the draw pinned to the bound,
    the bounds themselves show: 0.5, 1, 2, then capped at 3."""
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    echo = EchoProvider(faults=[unavailable()] * 5)
    policy = tl.RetryPolicy(max_attempts=6, initial_backoff=0.5, max_backoff=3.0)
    reply = await send_once(echo, policy)
    assert reply.text == "echo: hello"
    assert no_sleep == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert echo.calls == 6


async def test_no_backoff_wait_ever_exceeds_max_backoff(no_sleep: list[float]) -> None:
    """Unpinned jitter, eleven retries: uncapped bounds would reach 1024 s, and the
    chance that every draw still fell below 1 s is about 2**-55."""
    echo = EchoProvider(faults=[unavailable()] * 11)
    policy = tl.RetryPolicy(max_attempts=12, initial_backoff=1.0, max_backoff=1.0)
    assert (await send_once(echo, policy)).text == "echo: hello"
    assert len(no_sleep) == 11
    assert all(0 <= wait <= 1.0 for wait in no_sleep), no_sleep


# -- Retry-After ------------------------------------------------------------------------


@pytest.mark.parametrize("asked", [0.0, 0.25, 0.999, 2.0])
async def test_a_retry_after_up_to_the_cap_is_the_wait_exactly(
    no_sleep: list[float], asked: float
) -> None:
    """Below a second, zero, or exactly ``max_backoff``: slept as asked, then retried."""
    echo = EchoProvider(faults=[limited(asked)])
    policy = tl.RetryPolicy(max_attempts=2, initial_backoff=1.0, max_backoff=2.0)
    assert (await send_once(echo, policy)).text == "echo: hello"
    assert no_sleep == [asked]
    assert echo.calls == 2


async def test_a_negative_retry_after_waits_nothing(no_sleep: list[float]) -> None:
    echo = EchoProvider(faults=[limited(-3.0)])
    policy = tl.RetryPolicy(max_attempts=2, initial_backoff=1.0, max_backoff=2.0)
    assert (await send_once(echo, policy)).text == "echo: hello"
    assert no_sleep == [0.0]


async def test_a_retry_after_past_the_cap_is_raised_not_slept_on(no_sleep: list[float]) -> None:
    echo = EchoProvider(faults=[limited(2.001)])
    policy = tl.RetryPolicy(max_attempts=3, initial_backoff=1.0, max_backoff=2.0)
    with pytest.raises(tl.RateLimitError, match="slow down") as caught:
        await send_once(echo, policy)
    assert caught.value.retry_after == 2.001
    assert (no_sleep, echo.calls) == ([], 1)


async def test_errors_not_marked_retryable_are_never_retried(no_sleep: list[float]) -> None:
    final = tl.ProviderError("bad request", provider="echo", status_code=400)
    echo = EchoProvider(faults=[final])
    with pytest.raises(tl.ProviderError, match="bad request") as caught:
        await send_once(echo, tl.RetryPolicy(max_attempts=4))
    assert caught.value.status_code == 400
    assert (no_sleep, echo.calls) == ([], 1)


async def test_the_last_attempt_raises_its_own_error(no_sleep: list[float]) -> None:
    last = tl.ProviderUnavailableError("third", provider="echo", status_code=502, retryable=True)
    echo = EchoProvider(faults=[unavailable(), unavailable(), last])
    with pytest.raises(tl.ProviderUnavailableError, match="third") as caught:
        await send_once(echo, tl.RetryPolicy(max_attempts=3, initial_backoff=0, max_backoff=0))
    assert caught.value is last
    assert echo.calls == 3 and len(no_sleep) == 2


# -- what each attempt is told, and what each retry reports ----------------------------


class _Recording(AsyncEchoEngine):
    """Records what every attempt was told about the attempts before it."""

    async def turn(self, request: TurnRequest) -> TurnResult:
        seen = self._provider.seen  # type: ignore[attr-defined]
        last = request.last_error
        seen.append((request.attempt, last.status_code if last else None, request.ambiguous))
        return await super().turn(request)

    async def stream(self, request: TurnRequest) -> AsyncIterator[StreamEvent | TurnResult]:
        last = request.last_error
        self._provider.seen.append(  # type: ignore[attr-defined]
            (request.attempt, last.status_code if last else None, request.ambiguous)
        )
        async for item in super().stream(request):
            yield item


class RecordingEcho(EchoProvider):
    async_engine_class = _Recording

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.seen: list[tuple[int, int | None, bool]] = []


@pytest.mark.parametrize("how", ["send", "stream"])
async def test_each_attempt_knows_its_number_the_last_error_and_any_ambiguity(
    no_sleep: list[float], how: str
) -> None:
    """503 (refused, not ambiguous), then 504 (may have landed), then 503 again: from
    the third attempt on the turn counts as ambiguous, and the 503 after it does not
    undo that."""
    echo = RecordingEcho(faults=[unavailable(), unavailable(ambiguous=True), unavailable()])
    telemetry = capture_telemetry()
    policy = tl.RetryPolicy(max_attempts=4, initial_backoff=0, max_backoff=0)
    async with tl.AsyncSessionManager(
        "memory://", providers=[echo], retry=policy, **telemetry.manager_options
    ) as manager:
        session = await manager.create()
        if how == "send":
            reply = await session.send("hello")
        else:
            events = [e async for e in session.stream("hello")]
            reply = events[-1].message
    assert reply.text == "echo: hello"
    assert echo.seen == [(1, None, False), (2, 503, False), (3, 504, True), (4, 503, True)]
    retries = [
        dict(event.attributes or {})
        for span in telemetry.spans()
        for event in span.events
        if event.name == "threadline.retry"
    ]
    assert [(r["attempt"], r["error.type"]) for r in retries] == [
        (1, "provider_unavailable"),
        (2, "provider_unavailable"),
        (3, "provider_unavailable"),
    ]
    assert [r["delay_s"] for r in retries] == [0.0, 0.0, 0.0]
    telemetry.shutdown()


async def test_ambiguity_on_a_later_attempt_drops_the_server_copy_when_the_turn_fails(
    no_sleep: list[float],
) -> None:
    """503 then a timeout that may have landed, then 503 until attempts run out. The
    error raised is the plain 503, but the turn may be on the server: the session
    stops using (and deletes) its server-side copy, so the next turn re-seeds."""
    echo = EchoProvider()
    policy = tl.RetryPolicy(max_attempts=3, initial_backoff=0, max_backoff=0)
    async with tl.AsyncSessionManager("memory://", providers=[echo], retry=policy) as manager:
        session = await manager.create()
        await session.send("one")
        handle = session.native_id
        assert handle in echo.conversations
        echo.faults = [unavailable(), unavailable(ambiguous=True), unavailable()]
        with pytest.raises(tl.ProviderUnavailableError) as caught:
            await session.send("two")
        assert caught.value.status_code == 503 and not caught.value.ambiguous
        assert session.native_id is None
        assert handle not in echo.conversations
        stored = await manager.get(session.id)
        assert stored.native_id is None
        assert [m.text for m in await stored.load_messages()] == ["one", "echo: one"]
        # The next turn re-seeds the server from the mirror.
        assert (await session.send("three")).text == "echo: three"
        assert [m.text for m in echo.conversations[session.native_id]] == [
            "one",
            "echo: one",
            "three",
            "echo: three",
        ]
