"""Every error threadline raises, and the one tree they form.

```
ThreadlineError
├── ConfigurationError        missing extra, bad store URL, unknown provider
├── ManagerClosedError        the session manager (or its session) was used after close()
├── SessionNotFoundError      (also a LookupError) — also for sessions of another user
├── SessionExpiredError
├── InvalidTransitionError
├── ConcurrencyError          stale version: someone else changed the session
├── ValidationError           bad id, bad content, too large (also a ValueError)
├── StoreError                store unreachable / corrupt row (names the session)
└── ProviderError             .provider .status_code .retryable .error_type
    ├── RateLimitError
    ├── ProviderUnavailableError
    ├── AuthenticationError
    └── ContextWindowExceededError
```

Each class carries a stable ``error_type`` string. It is recorded verbatim as the span
attribute ``error.type`` and is safe to match on in code and dashboards.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "ConcurrencyError",
    "ConfigurationError",
    "ContextWindowExceededError",
    "InvalidTransitionError",
    "ManagerClosedError",
    "ProviderError",
    "ProviderUnavailableError",
    "RateLimitError",
    "SessionExpiredError",
    "SessionNotFoundError",
    "StoreError",
    "ThreadlineError",
    "ValidationError",
]


class ThreadlineError(Exception):
    """Base class of every error threadline raises on purpose."""

    error_type: str = "threadline_error"


class ConfigurationError(ThreadlineError):
    """A missing optional dependency, a bad store URL or an unknown provider."""

    error_type = "configuration_error"


class ManagerClosedError(ThreadlineError):
    """The session manager was closed; its sessions cannot be used any more."""

    error_type = "manager_closed"

    def __init__(self) -> None:
        super().__init__("the session manager is closed: open a new one to use its sessions again")


class SessionNotFoundError(ThreadlineError, LookupError):
    """No such session, or it belongs to another user (existence is not revealed)."""

    error_type = "session_not_found"

    def __init__(self, session_id: str) -> None:
        super().__init__(f"session {session_id!r} not found")
        self.session_id = session_id


class SessionExpiredError(ThreadlineError):
    """The session outlived its TTL; it can be read by cleanup only."""

    error_type = "session_expired"

    def __init__(self, session_id: str) -> None:
        super().__init__(f"session {session_id!r} has expired")
        self.session_id = session_id


class InvalidTransitionError(ThreadlineError):
    """The lifecycle table does not allow this operation in the session's status."""

    error_type = "invalid_transition"

    def __init__(self, session_id: str, status: str, operation: str) -> None:
        super().__init__(f"cannot {operation} session {session_id!r}: it is {status}")
        self.session_id = session_id
        self.status = status
        self.operation = operation


class ConcurrencyError(ThreadlineError):
    """The session changed since this handle read it; call ``refresh()`` and retry."""

    error_type = "concurrency_conflict"

    def __init__(self, session_id: str, expected_version: int) -> None:
        super().__init__(
            f"session {session_id!r} changed since version {expected_version}; "
            "refresh() it and try again"
        )
        self.session_id = session_id
        self.expected_version = expected_version


class ValidationError(ThreadlineError, ValueError):
    """Input threadline refuses before it reaches a store, a path or a provider."""

    error_type = "validation_error"


class StoreError(ThreadlineError):
    """The store is unreachable, or a stored row cannot be read back."""

    error_type = "store_error"

    def __init__(self, message: str, *, session_id: str | None = None) -> None:
        super().__init__(message)
        self.session_id = session_id


class ProviderError(ThreadlineError):
    """A model provider refused or failed a request.

    ``retryable`` says whether sending the same request again may succeed;
    ``retry_after`` is the server's ``Retry-After`` in seconds when it sent one.
    """

    error_type = "provider_error"

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status_code: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.status_code = status_code
        self.retryable = retryable
        self.retry_after = retry_after
        # True when the request may have reached the server before failing (timeouts,
        # dropped connections): the server may hold the turn, so a retry must check.
        self.ambiguous = ambiguous

    def __str__(self) -> str:
        code = f" {self.status_code}" if self.status_code is not None else ""
        return f"{self.provider}{code}: {self.args[0]}"


class RateLimitError(ProviderError):
    """HTTP 429: too many requests or tokens; retryable after a pause."""

    error_type = "rate_limited"


class ProviderUnavailableError(ProviderError):
    """5xx, timeout or connection failure: the provider could not answer."""

    error_type = "provider_unavailable"


class AuthenticationError(ProviderError):
    """HTTP 401/403: the API key is missing, wrong or lacks permission."""

    error_type = "authentication_failed"


class ContextWindowExceededError(ProviderError):
    """The conversation no longer fits the model's context window."""

    error_type = "context_window_exceeded"
