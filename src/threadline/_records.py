"""What a store keeps about a session besides its messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .messages import Checkpoint, SessionInfo, SessionStatus, Tool, Usage, utcnow

Mode = Literal["native", "local"]


class NativeState(BaseModel):
    """A provider's server-side copy of the conversation: a cache of the mirror.

    ``synced_count`` is how many mirrored messages the server-side state holds. When it
    differs from the mirror's message count, or ``provider`` is not the session's
    provider, the cache is stale and the next turn re-seeds it from the mirror.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    provider: str
    handle: str | None = None
    synced_count: int = 0
    data: dict[str, Any] = Field(default_factory=dict)


class SessionRecord(BaseModel):
    """The stored session row. ``version`` increments on every write."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    id: str
    user: str | None = None
    provider: str
    model: str
    system: str | None = None
    mode: Mode = "native"
    status: SessionStatus = SessionStatus.ACTIVE
    status_reason: str | None = None
    native: NativeState | None = None
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None
    ttl_seconds: float | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    parent_id: str | None = None
    message_count: int = 0
    usage: Usage = Field(default_factory=Usage)
    checkpoints: list[Checkpoint] = Field(default_factory=list)
    tools: list[Tool] = Field(default_factory=list)
    pending_calls: list[str] = Field(default_factory=list)
    """Tool calls of the last reply still waiting for their `ToolResult`s."""

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def info(self, now: datetime) -> SessionInfo:
        return SessionInfo(
            id=self.id,
            user=self.user,
            provider=self.provider,
            model=self.model,
            status=SessionStatus.EXPIRED if self.is_expired(now) else self.status,
            mode=self.mode,
            created_at=self.created_at,
            updated_at=self.updated_at,
            message_count=self.message_count,
            metadata=self.metadata,
            parent_id=self.parent_id,
            expires_at=self.expires_at,
        )
