"""``memory://``: a store in this process's memory, for tests and throwaway sessions.

It keeps the same contract as the durable stores (versions, ownership, expiry, cursors),
so code tested against it behaves the same on SQLite.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

from .._records import SessionRecord
from ..errors import (
    ConcurrencyError,
    SessionExpiredError,
    SessionNotFoundError,
    StoreError,
    ValidationError,
)
from ..messages import Message, SessionStatus
from .base import Page, SessionPage, SessionQuery, decode_cursor, encode_cursor, to_micros


class AsyncMemoryStore:
    """Sessions in a dict: gone when the process ends."""

    kind = "memory"
    blocking_io = True

    def __init__(self) -> None:
        self._records: dict[str, SessionRecord] = {}
        self._messages: dict[str, list[Message]] = {}
        self._closed = False
        # One store may be shared by managers on different threads.
        self._lock = threading.Lock()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the memory store is closed")

    async def create(self, record: SessionRecord, messages: Sequence[Message] = ()) -> None:
        with self._lock:
            self._check_open()
            if record.id in self._records:
                raise ValidationError(f"session id {record.id!r} is already taken")
            self._records[record.id] = record
            self._messages[record.id] = list(messages)

    async def get(self, session_id: str, *, user: str | None, now: datetime) -> SessionRecord:
        with self._lock:
            self._check_open()
            record = self._records.get(session_id)
        if record is None or (user is not None and record.user != user):
            raise SessionNotFoundError(session_id)
        if record.is_expired(now):
            raise SessionExpiredError(session_id)
        return record

    async def commit(
        self,
        record: SessionRecord,
        *,
        expected_version: int,
        append: Sequence[Message] = (),
        keep: int | None = None,
    ) -> None:
        with self._lock:
            self._check_open()
            current = self._records.get(record.id)
            if current is None:
                raise SessionNotFoundError(record.id)
            if current.version != expected_version:
                raise ConcurrencyError(record.id, expected_version)
            messages = self._messages[record.id]
            if keep is not None:
                del messages[keep:]
            messages.extend(append)
            self._records[record.id] = record

    async def read_messages(
        self, session_id: str, *, after: int = 0, limit: int | None = None
    ) -> list[Message]:
        with self._lock:
            self._check_open()
            messages = self._messages.get(session_id, [])
            end = None if limit is None else after + limit
            return messages[after:end]

    async def list_sessions(self, query: SessionQuery) -> SessionPage:
        want_expired = query.status == SessionStatus.EXPIRED

        def sort_key(r: SessionRecord) -> tuple[int, str]:
            stamp = r.updated_at if query.order_by == "updated" else r.created_at
            return (to_micros(stamp), r.id)

        with self._lock:
            self._check_open()
            records = [
                r
                for r in self._records.values()
                if (query.user is None or r.user == query.user)
                and (query.provider is None or r.provider == query.provider)
                and r.is_expired(query.now) == want_expired
                and (want_expired or query.status is None or r.status == query.status)
            ]
        records.sort(key=sort_key, reverse=True)
        if query.cursor is not None:
            after = decode_cursor(query.cursor)
            records = [r for r in records if sort_key(r) < after]
        page = Page[SessionRecord](records[: query.limit])
        if len(records) > query.limit:
            page.next_cursor = encode_cursor(*sort_key(page[-1]))
        return page

    async def delete(self, session_id: str, *, user: str | None) -> bool:
        with self._lock:
            self._check_open()
            record = self._records.get(session_id)
            if record is None or (user is not None and record.user != user):
                return False
            del self._records[session_id]
            del self._messages[session_id]
            return True

    async def delete_many(self, session_ids: Sequence[str]) -> int:
        with self._lock:
            self._check_open()
            removed = 0
            for session_id in session_ids:
                if self._records.pop(session_id, None) is not None:
                    del self._messages[session_id]
                    removed += 1
            return removed

    async def expired(
        self, now: datetime, limit: int = 500
    ) -> list[tuple[str, SessionRecord | None]]:
        with self._lock:
            self._check_open()
            found = [r for r in self._records.values() if r.is_expired(now)]
        found.sort(key=lambda r: (r.expires_at, r.id))
        return [(r.id, r) for r in found[:limit]]

    async def close(self) -> None:
        self._closed = True
