"""One translation between v1 sessions and threadline sessions, used by everything.

The shim's threadline-backed storage, the manager's real turns and ``threadline
migrate-v1`` all move sessions across with these functions, so a session migrated
from a v1 file and one saved by the shim look the same in threadline.

A v1 session becomes a threadline export document (``format_version`` 1) that
``manager.import_session(..., keep_id=True)`` stores: the public API's one way to
write a whole history at once. What threadline has no field for is kept in the
session metadata under the reserved key ``langswarm_v1`` (and, per message, in the
message metadata under the same key), so converting back gives the v1 session again.
The mapping itself (providers, statuses, tool pairs, timestamps) is described in
docs/migration.md.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

import threadline as tl

from ._kept import KeptProvider
from ._messages import (
    V1_KEY,
    ConversionError,
    parse_time,
    system_messages,
    to_local,
    to_threadline_messages,
    to_utc,
    to_v1_messages,
)
from .models import (
    ConversationHistory,
    ConversationMessage,
    LangSwarmSession,
    SessionMetadata,
)
from .models import SessionControl as Control
from .models import SessionStatus as V1Status

__all__ = [
    "V1_KEY",
    "ConversionError",
    "KeptProvider",
    "ThreadlineReply",
    "threadline_id",
    "threadline_provider",
    "to_local",
    "to_threadline_document",
    "to_threadline_messages",
    "to_utc",
    "to_v1_messages",
    "to_v1_session",
]

# v1 adapter names -> threadline provider names. Names not listed are kept as they are.
PROVIDER_NAMES = {"claude": "anthropic", "gemini": "google", "gpt": "openai"}
# threadline providers that keep server-side state, so v1's native/hybrid maps to native.
NATIVE_PROVIDERS = frozenset({"openai", "anthropic", "google", "echo"})

STATUS_TO_THREADLINE = {
    V1Status.ACTIVE: tl.SessionStatus.ACTIVE,
    V1Status.INACTIVE: tl.SessionStatus.PAUSED,
    V1Status.ARCHIVED: tl.SessionStatus.ARCHIVED,
    # threadline does not store "expired" (it is derived from a TTL), and an expired
    # session would be deleted by the next cleanup: keep it as a record instead.
    V1Status.EXPIRED: tl.SessionStatus.ARCHIVED,
}
STATUS_TO_V1 = {
    tl.SessionStatus.ACTIVE: V1Status.ACTIVE,
    tl.SessionStatus.PAUSED: V1Status.INACTIVE,
    tl.SessionStatus.COMPLETED: V1Status.INACTIVE,
    tl.SessionStatus.FAILED: V1Status.INACTIVE,
    tl.SessionStatus.CANCELLED: V1Status.INACTIVE,
    tl.SessionStatus.ARCHIVED: V1Status.ARCHIVED,
    tl.SessionStatus.EXPIRED: V1Status.EXPIRED,
}

# threadline's documented id rule (docs/concepts.md, "Ownership").
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@+=-]{0,127}")


def is_threadline_id(value: object) -> bool:
    return isinstance(value, str) and bool(_ID.fullmatch(value)) and ".." not in value


def threadline_id(v1_id: str) -> str:
    """The threadline id of a v1 session: the same id when threadline accepts it, else
    a stable ``v1-<hash>`` (the original is kept in the metadata)."""
    if is_threadline_id(v1_id):
        return v1_id
    return "v1-" + hashlib.sha256(v1_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def threadline_provider(v1_provider: str) -> str:
    name = v1_provider.lower()
    return PROVIDER_NAMES.get(name, name)


@dataclass
class ThreadlineReply:
    """What the manager's provider seam returns after a real threadline turn.

    The v1 adapters turn it into the reply message (``messages[-1]``; any earlier
    outputs of the same turn come before it) and take the session's token total.
    """

    messages: list[ConversationMessage]
    usage: tl.Usage
    session_total_tokens: int
    thread: Any = field(repr=False, default=None)
    """The threadline session the turn ran on."""

    @property
    def id(self) -> str:
        return self.messages[-1].id


# -- sessions -------------------------------------------------------------------------


def mode_for(provider: str, control: Control) -> str:
    if control is not Control.LANGSWARM and provider in NATIVE_PROVIDERS:
        return "native"
    return "local"


def to_threadline_document(
    session: LangSwarmSession,
    *,
    tz: tzinfo | None = None,
    reuse: Mapping[str, tl.Message] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """A v1 session as a threadline export document, and notes on what was adjusted.

    Raises `ConversionError` when the session cannot be represented.
    """
    meta = session.metadata
    if not isinstance(meta.custom_metadata, dict):
        raise ConversionError("custom_metadata is not an object")
    if V1_KEY in meta.custom_metadata:
        raise ConversionError(f"custom_metadata uses the reserved key {V1_KEY}")
    system, system_info, messages, notes = to_threadline_messages(
        session.history.messages, tz=tz, reuse=reuse
    )
    new_id = threadline_id(meta.session_id)
    if new_id != meta.session_id:
        notes.append(f"session id is not a valid threadline id; stored as {new_id}")
    provider = threadline_provider(meta.provider)
    history = session.history
    v1: dict[str, Any] = {
        "session_id": meta.session_id,
        "provider": meta.provider,
        "status": meta.status.value,
        "session_control": meta.session_control.value,
        "provider_thread_id": meta.provider_thread_id,
        "provider_conversation_id": meta.provider_conversation_id,
        "provider_agent_id": meta.provider_agent_id,
        "context_limit": meta.context_limit,
        "auto_truncate": meta.auto_truncate,
        "summarization_enabled": meta.summarization_enabled,
        "total_tokens": meta.total_tokens,
        "message_count": meta.message_count,
        "created_at": meta.created_at.isoformat(),
        "updated_at": meta.updated_at.isoformat(),
        "last_activity": meta.last_activity.isoformat() if meta.last_activity else None,
        "tags": list(meta.tags),
        "summary": history.summary,
        "history_total_tokens": history.total_tokens,
        "truncated_at": history.truncated_at.isoformat() if history.truncated_at else None,
        "system_messages": system_info,
    }
    metadata = dict(meta.custom_metadata)
    if "tags" not in metadata:
        metadata["tags"] = list(meta.tags)
        v1["tags_key"] = True
    metadata[V1_KEY] = v1
    total = meta.total_tokens if isinstance(meta.total_tokens, int) else 0
    document = {
        "format_version": 1,
        "exported_at": datetime.now(UTC).isoformat(),
        "session": {
            "id": new_id,
            "user": meta.user_id or None,  # an empty v1 owner means: nobody's
            "provider": provider,
            "model": meta.model,
            "system": system,
            "mode": mode_for(provider, meta.session_control),
            "status": STATUS_TO_THREADLINE[meta.status].value,
            "metadata": metadata,
            # v1 kept one total; threadline's split is unknown, so all of it counts as
            # input and usage.total_tokens equals v1's total_tokens.
            "usage": {"input_tokens": max(total, 0), "output_tokens": 0},
            "created_at": to_utc(meta.created_at, tz).isoformat(),
            "updated_at": to_utc(meta.updated_at, tz).isoformat(),
        },
        "messages": [m.model_dump(mode="json") for m in messages],
    }
    return document, notes


# -- sessions: threadline -> v1 -----------------------------------------------------


def _v1_metadata(
    *,
    session_id: str,
    user: str | None,
    provider: str,
    model: str,
    mode: str,
    status: tl.SessionStatus,
    metadata: dict[str, Any],
    created_at: datetime,
    updated_at: datetime,
    message_count: int,
    total_tokens: int | None,
    untouched: bool,
) -> tuple[SessionMetadata, dict[str, Any]]:
    """v1 metadata for a threadline session, and what was kept of v1 (``langswarm_v1``).

    ``untouched``: the session was not written since it came from v1, so v1's own
    timestamps and counters still hold; otherwise threadline's are newer.
    """
    custom = dict(metadata)
    v1 = custom.pop(V1_KEY, None)
    v1 = v1 if isinstance(v1, dict) else {}
    if v1.get("tags_key"):
        custom.pop("tags", None)
    v1_provider = v1.get("provider")
    v1_status = v1.get("status")
    if v1_status in STATUS_TO_THREADLINE and STATUS_TO_THREADLINE[V1Status(v1_status)] == status:
        v1_state = V1Status(v1_status)
    else:
        v1_state = STATUS_TO_V1[status]
    created = parse_time(v1.get("created_at")) or to_local(created_at)
    if untouched and v1:
        updated = parse_time(v1.get("updated_at")) or to_local(updated_at)
        last_activity = parse_time(v1.get("last_activity"))
        count = v1.get("message_count", message_count)
    else:
        updated = to_local(updated_at)
        last_activity = updated if message_count else parse_time(v1.get("last_activity"))
        count = message_count
    meta = SessionMetadata(
        user_id=user or "",
        session_id=v1.get("session_id") or session_id,
        provider=(
            v1_provider
            if isinstance(v1_provider, str) and threadline_provider(v1_provider) == provider
            else provider
        ),
        model=model,
        created_at=created,
        updated_at=updated,
        status=v1_state,
        session_control=v1.get("session_control")
        or (Control.HYBRID if mode == "native" else Control.LANGSWARM),
        provider_thread_id=v1.get("provider_thread_id"),
        provider_conversation_id=v1.get("provider_conversation_id"),
        provider_agent_id=v1.get("provider_agent_id"),
        context_limit=v1.get("context_limit"),
        auto_truncate=v1.get("auto_truncate", True),
        summarization_enabled=v1.get("summarization_enabled", True),
        message_count=count,
        total_tokens=total_tokens if total_tokens is not None else v1.get("total_tokens", 0),
        last_activity=last_activity,
        tags=list(v1.get("tags") or []),
        custom_metadata=custom,
    )
    return meta, v1


def metadata_from_info(
    info: tl.SessionInfo, session: tl.ConversationSession | None = None
) -> SessionMetadata:
    """v1 metadata for a row of ``manager.list()``. With the ``session`` (a record read,
    no history) its token total is live; without, the one recorded from v1."""
    meta, _ = _v1_metadata(
        session_id=info.id,
        user=info.user,
        provider=info.provider,
        model=info.model,
        mode=info.mode,
        status=info.status,
        metadata=info.metadata,
        created_at=info.created_at,
        updated_at=info.updated_at,
        message_count=info.message_count,
        total_tokens=session.usage.total_tokens if session is not None else None,
        untouched=session.version == 1
        if session is not None
        else info.updated_at == info.created_at,
    )
    return meta


def to_v1_session(session: tl.ConversationSession) -> LangSwarmSession:
    """The v1 view of a threadline session (see `to_v1_messages` for its messages)."""
    meta, v1 = _v1_metadata(
        session_id=session.id,
        user=session.user,
        provider=session.provider,
        model=session.model,
        mode=session.mode,
        status=session.status,
        metadata=session.metadata,
        created_at=session.created_at,
        updated_at=session.updated_at,
        message_count=0,
        total_tokens=session.usage.total_tokens,
        untouched=session.version == 1,
    )
    messages = system_messages(
        session.system, v1.get("system_messages"), meta.session_id, meta.created_at
    ) + to_v1_messages(session.messages)
    if session.version != 1 or not v1:
        meta.message_count = len(messages)
        if messages:
            meta.last_activity = meta.updated_at
    words = sum(len(m.content.split()) for m in messages)
    history = ConversationHistory(
        session_id=meta.session_id,
        messages=messages,
        summary=v1.get("summary"),
        total_tokens=v1.get("history_total_tokens", words) if session.version == 1 else words,
        truncated_at=parse_time(v1.get("truncated_at")),
    )
    result = LangSwarmSession(meta.user_id, meta.session_id, meta.provider, meta.model)
    result.metadata, result.history = meta, history
    return result
