"""The export document: a session as versioned JSON, and reading one back.

Format version 1: ``{"format_version": 1, "exported_at": …, "session": {…},
"messages": [...]}``. Server-side handles, the version counter and derived counts are
left out: an imported copy is a new session that re-seeds its own server-side state.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError as PydanticValidationError

from ._records import SessionRecord
from .errors import ValidationError
from .messages import Message, utcnow

EXPORT_FORMAT_VERSION = 1


# What an export carries of the record; the rest is the importing store's business.
_IMPORTED = frozenset(SessionRecord.model_fields) - {
    "native",
    "version",
    "message_count",
    "created_at",
    "updated_at",
    "expires_at",
}


def export_document(record: SessionRecord, history: list[Message]) -> dict[str, Any]:
    return {
        "format_version": EXPORT_FORMAT_VERSION,
        "exported_at": utcnow().isoformat(),
        "session": record.model_dump(mode="json", exclude={"native", "version", "message_count"}),
        "messages": [m.model_dump(mode="json") for m in history],
    }


def read_document(data: object) -> tuple[SessionRecord, list[Message]]:
    """The session record (as exported, not yet stored) and messages of an export
    document, or `ValidationError`. Fields this version does not know are ignored."""
    if not isinstance(data, dict) or data.get("format_version") != EXPORT_FORMAT_VERSION:
        found = data.get("format_version") if isinstance(data, dict) else None
        raise ValidationError(
            f"not a threadline export of format_version {EXPORT_FORMAT_VERSION} (found {found!r})"
        )
    session = data.get("session")
    if not isinstance(session, dict):
        raise ValidationError("invalid export document: no session object")
    try:
        record = SessionRecord.model_validate({k: v for k, v in session.items() if k in _IMPORTED})
        # Through __init__, which keeps every timestamp in UTC.
        history = [
            Message(**Message.model_validate(m).__dict__) for m in data.get("messages") or []
        ]
    except PydanticValidationError as exc:
        raise ValidationError(f"invalid export document: {exc.errors()[0]['msg']}") from exc
    return record, history
