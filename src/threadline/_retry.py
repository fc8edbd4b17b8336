"""The one retry layer: tenacity around model calls, driven by `RetryPolicy`.

This module holds the policy and the rules both faces share; the loops that apply
them are `_retrying_async.call_with_retry` and its generated twin.

Clients threadline builds have their SDK's own retries switched off, so a failed
request is retried here and only here: exponential backoff with full jitter, the
server's ``Retry-After`` honoured, a bounded number of attempts. Only errors marked
``retryable`` are retried.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ProviderError, ValidationError


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
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int):
            raise TypeError(f"max_attempts must be an int, not {type(self.max_attempts).__name__}")
        for name in ("initial_backoff", "max_backoff"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
            if not math.isfinite(value):
                raise ValidationError(f"{name} must be a finite number of seconds, not {value}")
        if self.max_attempts < 1:
            raise ValidationError("max_attempts must be at least 1")
        if self.initial_backoff < 0 or self.max_backoff < self.initial_backoff:
            raise ValidationError("need 0 <= initial_backoff <= max_backoff")


def tenacity_options(
    policy: RetryPolicy, on_retry: Callable[[int, ProviderError, float], None]
) -> dict[str, Any]:
    """What both faces' tenacity loops share: stop, wait, retry and report rules."""
    from tenacity import (
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

    return {
        "stop": stop_after_attempt(policy.max_attempts),
        "wait": wait,
        "retry": retry_if_exception(retryable),
        "before_sleep": before_sleep,
        "reraise": True,
    }
