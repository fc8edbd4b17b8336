"""The store seam, async face: what every backend's async class does.

`scripts/gen_sync.py` turns this into `_protocol_sync.Store`, the same contract with
blocking methods. A store keeps session records and their messages, one row per
message. Every write is one atomic compare-and-set step on the record's ``version``:
the record, the messages appended, and the messages cut off by a restore change
together or not at all.

Ownership and expiry are a store's job, enforced in its query: a call scoped to a
user sees only that user's sessions, and expired sessions never come back as live.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from .._records import SessionRecord
from ..messages import Message
from .base import SessionPage, SessionQuery

__all__ = ["AsyncStore"]


@runtime_checkable
class AsyncStore(Protocol):
    """The storage protocol every backend implements."""

    kind: str
    """Short backend name for telemetry: ``memory``, ``sqlite``, ``postgres``..."""

    blocking_io: bool
    """True when every call finishes on the calling thread without suspending
    (memory, SQLite): the async face may then read from it inside a property."""

    async def create(self, record: SessionRecord, messages: Sequence[Message] = ()) -> None:
        """Insert a new session with an initial history. An existing id is refused."""

    async def get(self, session_id: str, *, user: str | None, now: datetime) -> SessionRecord:
        """The record, or `SessionNotFoundError` (also for another user's session) or
        `SessionExpiredError`."""
        ...

    async def commit(
        self,
        record: SessionRecord,
        *,
        expected_version: int,
        append: Sequence[Message] = (),
        keep: int | None = None,
    ) -> None:
        """Write ``record`` if the stored version is still ``expected_version``.

        In the same atomic step: drop messages past the first ``keep`` (restore), then
        append ``append`` after them. A stale version raises `ConcurrencyError`.
        ``record.message_count`` must equal the resulting number of messages.
        """

    async def read_messages(
        self, session_id: str, *, after: int = 0, limit: int | None = None
    ) -> list[Message]:
        """Messages in order, skipping the first ``after``, at most ``limit``."""
        ...

    async def list_sessions(self, query: SessionQuery) -> SessionPage:
        """Live (or, with ``status=EXPIRED``, expired) sessions matching the query."""
        ...

    async def delete(self, session_id: str, *, user: str | None) -> bool:
        """Remove a session and its messages; False if there was none to remove."""
        ...

    async def delete_many(self, session_ids: Sequence[str]) -> int:
        """Remove these sessions and their messages in one step; how many went."""
        ...

    async def expired(
        self, now: datetime, limit: int = 500
    ) -> list[tuple[str, SessionRecord | None]]:
        """Ids of sessions whose ``expires_at`` has passed, oldest expiry first, each
        with its record (None if the record is too damaged to read: it still goes)."""
        ...

    async def close(self) -> None:
        """Release connections. Safe to call twice."""
