"""The store seam: what every backend (memory, SQLite, later Postgres and Redis) does.

A store keeps session records and their messages, one row per message. Every write is
one atomic compare-and-set step on the record's ``version``: the record, the messages
appended, and the messages cut off by a restore change together or not at all.

Ownership and expiry are a store's job, enforced in its query: a call scoped to a
user sees only that user's sessions, and expired sessions never come back as live.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Literal, Protocol, TypeVar, runtime_checkable

from .._records import SessionRecord
from ..errors import ValidationError
from ..messages import Message, SessionStatus

T = TypeVar("T")

__all__ = ["Page", "SessionPage", "SessionQuery", "Store", "decode_cursor", "encode_cursor"]


@dataclass(frozen=True, slots=True)
class SessionQuery:
    """A filter for ``Store.list``. ``user=None`` means: do not scope by user."""

    now: datetime
    user: str | None = None
    status: SessionStatus | None = None
    provider: str | None = None
    order_by: Literal["created", "updated"] = "created"
    limit: int = 50
    cursor: str | None = None


class Page(list[T], Generic[T]):
    """A list that is one page of results; pass ``next_cursor`` to get the next page
    (None on the last one)."""

    next_cursor: str | None = None


SessionPage = Page[SessionRecord]


@runtime_checkable
class Store(Protocol):
    """The async storage protocol every backend implements."""

    kind: str
    """Short backend name for telemetry: ``memory``, ``sqlite``..."""

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

    async def expired(
        self, now: datetime, limit: int = 500
    ) -> list[tuple[str, SessionRecord | None]]:
        """Ids of sessions whose ``expires_at`` has passed, oldest expiry first, each
        with its record (None if the record is too damaged to read: it still goes)."""
        ...

    async def close(self) -> None:
        """Release connections. Safe to call twice."""


def encode_cursor(sort_key: int, session_id: str) -> str:
    return f"{sort_key}.{session_id}"


def decode_cursor(cursor: str) -> tuple[int, str]:
    key, sep, session_id = cursor.partition(".")
    if not sep or not key.lstrip("-").isdigit() or not session_id:
        raise ValidationError(f"not a list cursor: {cursor[:40]!r}")
    return int(key), session_id


def to_micros(value: datetime) -> int:
    """A UTC datetime as integer microseconds since the epoch (the stores' sort key)."""
    return int(value.timestamp() * 1_000_000)
