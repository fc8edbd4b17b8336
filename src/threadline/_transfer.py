"""The export document: a session as versioned JSON, and reading one back.

Format version 1: ``{"format_version": 1, "exported_at": …, "session": {…},
"messages": [...]}``. Server-side handles, the version counter and derived counts are
left out: an imported copy is a new session that re-seeds its own server-side state.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError as PydanticValidationError

from ._ids import validate_id
from ._records import SessionRecord
from ._validate import check_message, check_metadata, check_text, expiry, pending_calls
from .errors import ValidationError
from .messages import Message, SessionStatus, utcnow

EXPORT_FORMAT_VERSION = 1


# What an export carries of the record; the rest is the importing store's business.
_IMPORTED = frozenset(SessionRecord.model_fields) - {
    "native",
    "version",
    "message_count",
    "created_at",
    "updated_at",
    "expires_at",
    "pending_calls",
}
# Derived or server-side: never written to a document.
_NOT_EXPORTED = {"native", "version", "message_count", "pending_calls"}


def export_document(record: SessionRecord, history: list[Message]) -> dict[str, Any]:
    return {
        "format_version": EXPORT_FORMAT_VERSION,
        "exported_at": utcnow().isoformat(),
        "session": record.model_dump(mode="json", exclude=_NOT_EXPORTED),
        "messages": [m.model_dump(mode="json") for m in history],
    }


def read_document(data: object) -> tuple[SessionRecord, list[Message]]:
    """The session record (as exported, not yet stored) and messages of an export
    document, or `ValidationError`. The whole document is checked before anything is
    written. Fields this version does not know are ignored."""
    if not isinstance(data, dict) or data.get("format_version") != EXPORT_FORMAT_VERSION:
        found = data.get("format_version") if isinstance(data, dict) else None
        raise ValidationError(
            f"not a threadline export of format_version {EXPORT_FORMAT_VERSION} (found {found!r})"
        )
    session = data.get("session")
    if not isinstance(session, dict):
        raise ValidationError("invalid export document: no session object")
    messages = data.get("messages", [])
    if not isinstance(messages, list):
        raise ValidationError("invalid export document: messages must be a list")
    try:
        record = SessionRecord.model_validate({k: v for k, v in session.items() if k in _IMPORTED})
        history = [Message.model_validate(m).in_utc() for m in messages]
    except PydanticValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise ValidationError(f"invalid export document: {where}: {error['msg']}") from None
    _check_record(record, len(history))
    for message in history:
        try:
            check_message(message)
        except ValidationError as exc:
            raise ValidationError(
                f"invalid export document: message {message.id!r}: {exc}"
            ) from None
    return record.model_copy(update={"pending_calls": pending_calls(history)}), history


def _check_record(record: SessionRecord, count: int) -> None:
    """What a stored session must satisfy, beyond the shape pydantic checks."""
    if record.status == SessionStatus.EXPIRED:
        raise ValidationError("invalid export document: 'expired' is not a stored status")
    if record.ttl_seconds is not None:
        if not record.ttl_seconds > 0:
            raise ValidationError("invalid export document: ttl_seconds must be positive")
        expiry(utcnow(), record.ttl_seconds)
    for value, what in ((record.parent_id, "parent_id"), (record.user, "user")):
        if value is not None:
            validate_id(value, what)
    for text, what in (
        (record.provider, "provider"),
        (record.model, "model"),
        (record.system, "system"),
        (record.status_reason, "status_reason"),
    ):
        check_text(text, what, optional=True)
    check_metadata(record.metadata)
    for cp in record.checkpoints:
        if not 0 <= cp.message_count <= count:
            raise ValidationError(
                f"invalid export document: checkpoint {cp.id!r} is at message {cp.message_count}"
                f" of {count}"
            )
        check_text(cp.label, "checkpoint label", optional=True)
