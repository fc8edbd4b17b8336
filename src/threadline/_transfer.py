"""The export document: a session as versioned JSON, and reading one back.

Format version 1: ``{"format_version": 1, "exported_at": …, "session": {…},
"messages": [...]}``. Server-side handles, the version counter and derived counts are
left out: an imported copy is a new session that re-seeds its own server-side state.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError

from ._records import Mode, SessionRecord
from .errors import ValidationError
from .messages import Checkpoint, Message, SessionStatus, Tool, Usage, utcnow

EXPORT_FORMAT_VERSION = 1


class ExportedSession(BaseModel):
    """The ``session`` object of an export document."""

    model_config = ConfigDict(extra="ignore")

    id: str
    user: str | None = None
    provider: str
    model: str
    system: str | None = None
    mode: Mode = "native"
    status: SessionStatus = SessionStatus.ACTIVE
    status_reason: str | None = None
    metadata: dict[str, Any] = {}
    parent_id: str | None = None
    usage: Usage = Usage()
    checkpoints: list[Checkpoint] = []
    tools: list[Tool] = []
    ttl_seconds: float | None = None


def export_document(record: SessionRecord, history: list[Message]) -> dict[str, Any]:
    return {
        "format_version": EXPORT_FORMAT_VERSION,
        "exported_at": utcnow().isoformat(),
        "session": record.model_dump(mode="json", exclude={"native", "version", "message_count"}),
        "messages": [m.model_dump(mode="json") for m in history],
    }


def read_document(data: object) -> tuple[ExportedSession, list[Message]]:
    """The session and messages of an export document, or `ValidationError`."""
    if not isinstance(data, dict) or data.get("format_version") != EXPORT_FORMAT_VERSION:
        found = data.get("format_version") if isinstance(data, dict) else None
        raise ValidationError(
            f"not a threadline export of format_version {EXPORT_FORMAT_VERSION} (found {found!r})"
        )
    try:
        exported = ExportedSession.model_validate(data.get("session"))
        history = [Message.model_validate(m) for m in data.get("messages") or []]
    except PydanticValidationError as exc:
        raise ValidationError(f"invalid export document: {exc.errors()[0]['msg']}") from exc
    return exported, history
