"""The LangSwarm v1 session data model (`langswarm.core.session.models`), reproduced.

Legacy code builds, inspects and serialises these objects directly, and v1 databases
hold their ``to_dict()`` JSON, so names, field order, defaults and dictionary keys
follow v1 exactly. Two kindnesses over v1, neither of which breaks code that worked:
the enums are ``str``-valued (legacy code passes ``"user"`` and compares
``msg.role == "user"``; plain strings are coerced on construction so serialisation
never breaks), and keyword arguments naming any metadata field are honoured.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .adapters import BaseSessionAdapter
    from .manager import LangSwarmSessionManager
    from .strategies import SessionStrategy

__all__ = [
    "ConversationHistory",
    "ConversationMessage",
    "LangSwarmSession",
    "MessageRole",
    "SessionControl",
    "SessionMetadata",
    "SessionStatus",
]


class SessionStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    ARCHIVED = "archived"
    EXPIRED = "expired"


class SessionControl(StrEnum):
    NATIVE = "native"  # the provider keeps the conversation
    LANGSWARM = "langswarm"  # the client sends the history every turn
    HYBRID = "hybrid"  # native where the provider supports it


class MessageRole(StrEnum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"
    FUNCTION = "function"


def _parse_time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _optional_time(value: Any) -> datetime | None:
    return _parse_time(value) if value else None


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex[:8]}"


def new_session_id() -> str:
    return f"session_{uuid.uuid4().hex[:8]}"


@dataclass
class ConversationMessage:
    """One message. The positional order of the fields is v1's."""

    id: str
    role: MessageRole
    content: str
    timestamp: datetime = field(default_factory=datetime.now)
    metadata: dict[str, Any] = field(default_factory=dict)
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    provider_message_id: str | None = None

    def __post_init__(self) -> None:
        # Plain strings are accepted (legacy code passes "user"); an unknown role is
        # refused here rather than when the message is saved.
        self.role = MessageRole(self.role)
        if self.content is None:
            # A tool-call-only reply has no text; v1 crashed counting its words.
            self.content = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "role": self.role.value,
            "content": self.content,
            "timestamp": self.timestamp.isoformat(),
            "metadata": self.metadata,
            "tool_calls": self.tool_calls,
            "tool_call_id": self.tool_call_id,
            "provider_message_id": self.provider_message_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConversationMessage:
        return cls(
            id=data["id"],
            role=MessageRole(data["role"]),
            content=data["content"],
            timestamp=_parse_time(data["timestamp"]),
            metadata=data.get("metadata") or {},
            tool_calls=data.get("tool_calls"),
            tool_call_id=data.get("tool_call_id"),
            provider_message_id=data.get("provider_message_id"),
        )


@dataclass
class SessionMetadata:
    """What v1 knows about a session besides its messages."""

    user_id: str
    session_id: str
    provider: str
    model: str
    created_at: datetime = field(default_factory=datetime.now)
    updated_at: datetime = field(default_factory=datetime.now)
    status: SessionStatus = SessionStatus.ACTIVE
    session_control: SessionControl = SessionControl.HYBRID
    provider_thread_id: str | None = None
    provider_conversation_id: str | None = None
    provider_agent_id: str | None = None
    context_limit: int | None = None
    auto_truncate: bool = True
    summarization_enabled: bool = True
    message_count: int = 0
    total_tokens: int = 0
    last_activity: datetime | None = None
    tags: list[str] = field(default_factory=list)
    custom_metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.status = SessionStatus(self.status)
        self.session_control = SessionControl(self.session_control)

    def to_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "session_id": self.session_id,
            "provider": self.provider,
            "model": self.model,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "status": self.status.value,
            "session_control": self.session_control.value,
            "provider_thread_id": self.provider_thread_id,
            "provider_conversation_id": self.provider_conversation_id,
            "provider_agent_id": self.provider_agent_id,
            "context_limit": self.context_limit,
            "auto_truncate": self.auto_truncate,
            "summarization_enabled": self.summarization_enabled,
            "message_count": self.message_count,
            "total_tokens": self.total_tokens,
            "last_activity": self.last_activity.isoformat() if self.last_activity else None,
            "tags": self.tags,
            "custom_metadata": self.custom_metadata,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionMetadata:
        return cls(
            user_id=data["user_id"],
            session_id=data["session_id"],
            provider=data["provider"],
            model=data["model"],
            created_at=_parse_time(data["created_at"]),
            updated_at=_parse_time(data["updated_at"]),
            status=SessionStatus(data["status"]),
            session_control=SessionControl(data["session_control"]),
            provider_thread_id=data.get("provider_thread_id"),
            provider_conversation_id=data.get("provider_conversation_id"),
            provider_agent_id=data.get("provider_agent_id"),
            context_limit=data.get("context_limit"),
            auto_truncate=data.get("auto_truncate", True),
            summarization_enabled=data.get("summarization_enabled", True),
            message_count=data.get("message_count", 0),
            total_tokens=data.get("total_tokens", 0),
            last_activity=_optional_time(data.get("last_activity")),
            tags=data.get("tags") or [],
            custom_metadata=data.get("custom_metadata") or {},
        )


METADATA_FIELDS = frozenset(f.name for f in dataclasses.fields(SessionMetadata))


@dataclass
class ConversationHistory:
    """A session's messages, oldest first, with v1's rough token count (words)."""

    session_id: str
    messages: list[ConversationMessage] = field(default_factory=list)
    summary: str | None = None
    total_tokens: int = 0
    truncated_at: datetime | None = None

    def add_message(self, message: ConversationMessage) -> None:
        self.messages.append(message)
        self.total_tokens += len(message.content.split())

    def get_recent_messages(self, limit: int = 10) -> list[ConversationMessage]:
        return self.messages[-limit:]

    def get_messages_since(self, timestamp: datetime) -> list[ConversationMessage]:
        return [m for m in self.messages if m.timestamp > timestamp]

    def truncate_to_limit(self, context_limit: int) -> None:
        """Keep the system messages and the newest others, ``context_limit`` in all.

        (v1 could keep a system message twice, or everything when the system messages
        alone filled the limit.)
        """
        if len(self.messages) <= context_limit:
            return
        system = [m for m in self.messages if m.role is MessageRole.SYSTEM]
        room = max(context_limit - len(system), 0)
        others = [m for m in self.messages if m.role is not MessageRole.SYSTEM]
        self.messages = system + (others[-room:] if room else [])
        self.truncated_at = datetime.now()

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "messages": [m.to_dict() for m in self.messages],
            "summary": self.summary,
            "total_tokens": self.total_tokens,
            "truncated_at": self.truncated_at.isoformat() if self.truncated_at else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConversationHistory:
        return cls(
            session_id=data["session_id"],
            messages=[ConversationMessage.from_dict(m) for m in data.get("messages") or []],
            summary=data.get("summary"),
            total_tokens=data.get("total_tokens", 0),
            truncated_at=_optional_time(data.get("truncated_at")),
        )


class LangSwarmSession:
    """A v1 session: metadata plus history, and the manager's strategy and adapter."""

    def __init__(
        self,
        user_id: str,
        session_id: str | None = None,
        provider: str = "openai",
        model: str = "gpt-4o",
        session_control: SessionControl = SessionControl.HYBRID,
        context_limit: int | None = None,
        **kwargs: Any,
    ) -> None:
        if session_id is None:
            session_id = new_session_id()
        # v1 looked the names up as class attributes, which silently dropped `tags`
        # and `custom_metadata`; the dataclass fields are the real list.
        extra = {
            k: v
            for k, v in kwargs.items()
            if k in METADATA_FIELDS
            and k not in ("user_id", "session_id", "provider", "model", "session_control")
        }
        self.metadata = SessionMetadata(
            user_id=user_id,
            session_id=session_id,
            provider=provider,
            model=model,
            session_control=session_control,
            context_limit=context_limit,
            **extra,
        )
        self.history = ConversationHistory(session_id=session_id)
        self._strategy: SessionStrategy | None = None
        self._adapter: BaseSessionAdapter | None = None
        self._manager: LangSwarmSessionManager | None = None

    @property
    def session_id(self) -> str:
        return self.metadata.session_id

    @property
    def user_id(self) -> str:
        return self.metadata.user_id

    @property
    def provider(self) -> str:
        return self.metadata.provider

    @property
    def model(self) -> str:
        return self.metadata.model

    @property
    def message_count(self) -> int:
        return len(self.history.messages)

    @property
    def is_active(self) -> bool:
        return self.metadata.status is SessionStatus.ACTIVE

    def add_message(
        self, content: str, role: MessageRole | str, **kwargs: Any
    ) -> ConversationMessage:
        """Append a message; ``kwargs`` (metadata, tool_calls, ...) go to it."""
        message_id = kwargs.pop("id", None) or new_message_id()
        message = ConversationMessage(message_id, MessageRole(role), content, **kwargs)
        self.history.add_message(message)
        self.touch()
        return message

    def touch(self) -> None:
        """Record activity: message count, last activity and update time."""
        now = datetime.now()
        self.metadata.message_count = len(self.history.messages)
        self.metadata.last_activity = now
        self.metadata.updated_at = now

    def get_messages(self, limit: int | None = None) -> list[ConversationMessage]:
        if limit:
            return self.history.get_recent_messages(limit)
        return self.history.messages

    def get_messages_for_api(self) -> list[dict[str, Any]]:
        return [
            {
                "role": m.role.value,
                "content": m.content,
                **({"tool_calls": m.tool_calls} if m.tool_calls else {}),
                **({"tool_call_id": m.tool_call_id} if m.tool_call_id else {}),
            }
            for m in self.history.messages
        ]

    def archive(self) -> None:
        self.metadata.status = SessionStatus.ARCHIVED
        self.metadata.updated_at = datetime.now()

    def reactivate(self) -> None:
        self.metadata.status = SessionStatus.ACTIVE
        self.metadata.updated_at = datetime.now()

    def to_dict(self) -> dict[str, Any]:
        return {"metadata": self.metadata.to_dict(), "history": self.history.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LangSwarmSession:
        metadata = SessionMetadata.from_dict(data["metadata"])
        session = cls(
            user_id=metadata.user_id,
            session_id=metadata.session_id,
            provider=metadata.provider,
            model=metadata.model,
            session_control=metadata.session_control,
            context_limit=metadata.context_limit,
        )
        session.metadata = metadata
        session.history = ConversationHistory.from_dict(data["history"])
        return session

    def __repr__(self) -> str:
        return (
            f"<LangSwarmSession {self.session_id} {self.provider}/{self.model}"
            f" {self.metadata.status.value} messages={self.message_count}>"
        )
