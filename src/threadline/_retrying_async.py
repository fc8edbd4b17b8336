"""Calling a model with retries (async face; the blocking twin is generated).

The policy and the rules (which errors retry, how long to wait, what to report)
live in `_retry`; this is only the loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from . import _concurrency
from ._retry import RetryPolicy, tenacity_options
from .errors import ProviderError

T = TypeVar("T")

__all__ = ["call_with_retry"]


def _no_report(attempt: int, exc: ProviderError, delay: float) -> None:
    return None


async def call_with_retry(
    policy: RetryPolicy,
    attempt_fn: Callable[[int, ProviderError | None], Awaitable[T]],
    on_retry: Callable[[int, ProviderError, float], None] = _no_report,
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
    from tenacity import AsyncRetrying

    last_error: ProviderError = first
    retrying = AsyncRetrying(sleep=_concurrency.asleep, **tenacity_options(policy, on_retry))
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
