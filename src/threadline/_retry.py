"""The one retry layer: tenacity around model calls, driven by `RetryPolicy`.

Clients threadline builds have their SDK's own retries switched off, so a failed
request is retried here and only here: exponential backoff with full jitter, the
server's ``Retry-After`` honoured, a bounded number of attempts. Only errors marked
``retryable`` are retried.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from .errors import ProviderError, ValidationError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How model calls are retried.

    ``max_attempts`` counts the first try. Waits grow from ``initial_backoff`` seconds,
    doubling, up to ``max_backoff``, each drawn at random below that bound (full
    jitter). A ``Retry-After`` from the server is used as the wait instead; if it asks
    for longer than ``max_backoff`` the error is raised rather than slept on.
    """

    max_attempts: int = 4
    initial_backoff: float = 0.5
    max_backoff: float = 20.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValidationError("max_attempts must be at least 1")
        if self.initial_backoff < 0 or self.max_backoff < self.initial_backoff:
            raise ValidationError("need 0 <= initial_backoff <= max_backoff")


async def _sleep(seconds: float) -> None:
    import anyio

    await anyio.sleep(seconds)


async def call_with_retry(
    policy: RetryPolicy,
    attempt_fn: Callable[[int, ProviderError | None], Awaitable[T]],
    on_retry: Callable[[int, ProviderError, float], None] = lambda *_: None,
) -> T:
    """Call ``attempt_fn(attempt, last_error)`` until it returns or may not be retried."""
    # The first attempt runs outside tenacity: building and stepping its state machine
    # costs more than the rest of a turn's bookkeeping, and nearly every call succeeds
    # at once. A failure is handed to tenacity as attempt 1, so what follows (which
    # errors retry, waits, ``on_retry``, the attempt limit) is unchanged.
    try:
        return await attempt_fn(1, None)
    except ProviderError as exc:
        first = exc
    return await _retry_after(first, policy, attempt_fn, on_retry)


async def _retry_after(
    first: ProviderError,
    policy: RetryPolicy,
    attempt_fn: Callable[[int, ProviderError | None], Awaitable[T]],
    on_retry: Callable[[int, ProviderError, float], None],
) -> T:
    from tenacity import (
        AsyncRetrying,
        RetryCallState,
        retry_if_exception,
        stop_after_attempt,
        wait_random_exponential,
    )

    backoff = wait_random_exponential(multiplier=policy.initial_backoff, max=policy.max_backoff)

    def retryable(exc: BaseException) -> bool:
        if not isinstance(exc, ProviderError) or not exc.retryable:
            return False
        return exc.retry_after is None or exc.retry_after <= policy.max_backoff

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ProviderError) and exc.retry_after is not None:
            return max(exc.retry_after, 0.0)
        return float(backoff(state))

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        assert isinstance(exc, ProviderError)
        delay = state.next_action.sleep if state.next_action else 0.0
        on_retry(state.attempt_number, exc, delay)

    last_error: ProviderError = first
    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.max_attempts),
        wait=wait,
        retry=retry_if_exception(retryable),
        before_sleep=before_sleep,
        sleep=_sleep,
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            number = attempt.retry_state.attempt_number
            if number == 1:
                raise first  # already made, above: replayed so tenacity sees it
            try:
                return await attempt_fn(number, last_error)
            except ProviderError as exc:
                last_error = exc
                raise
    raise AssertionError("unreachable: tenacity reraises the last error")  # pragma: no cover
