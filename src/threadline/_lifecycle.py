"""The session lifecycle as data: which operation moves which status where."""

from __future__ import annotations

from .errors import InvalidTransitionError
from .messages import SessionStatus as S

# (current status, operation) -> new status. Anything missing is refused.
TRANSITIONS: dict[tuple[S, str], S] = {
    (S.ACTIVE, "pause"): S.PAUSED,
    (S.ACTIVE, "complete"): S.COMPLETED,
    (S.ACTIVE, "fail"): S.FAILED,
    (S.ACTIVE, "cancel"): S.CANCELLED,
    (S.ACTIVE, "archive"): S.ARCHIVED,
    (S.PAUSED, "resume"): S.ACTIVE,
    (S.PAUSED, "complete"): S.COMPLETED,
    (S.PAUSED, "cancel"): S.CANCELLED,
    (S.PAUSED, "archive"): S.ARCHIVED,
    (S.FAILED, "resume"): S.ACTIVE,
    (S.FAILED, "cancel"): S.CANCELLED,
    (S.FAILED, "archive"): S.ARCHIVED,
    (S.COMPLETED, "archive"): S.ARCHIVED,
    (S.CANCELLED, "archive"): S.ARCHIVED,
    (S.ARCHIVED, "reactivate"): S.ACTIVE,
}


def next_status(session_id: str, status: S, operation: str) -> S:
    """The status ``operation`` leads to from ``status``, or `InvalidTransitionError`."""
    try:
        return TRANSITIONS[(status, operation)]
    except KeyError:
        raise InvalidTransitionError(session_id, status.value, operation) from None


def require_active(session_id: str, status: S, operation: str) -> None:
    """``send`` and ``stream`` run only in an active session."""
    if status is not S.ACTIVE:
        raise InvalidTransitionError(session_id, status.value, operation)


def require_resumable(session_id: str, status: S, operation: str) -> None:
    """History edits (``restore``) need a session that can still continue: active,
    paused or failed. Completed, cancelled and archived sessions are a record."""
    if status not in (S.ACTIVE, S.PAUSED, S.FAILED):
        raise InvalidTransitionError(session_id, status.value, operation)
