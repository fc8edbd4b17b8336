"""``sqlite://``: the embedded default store.

One file, WAL journal, ``synchronous=FULL`` by default so a returned turn survives a
power cut (``?synchronous=NORMAL`` trades the last commits for speed, see
docs/stores.md). One row per message, one transaction per turn.

This is the async source of `_sqlite_sync.SQLiteStore`. On the async face statements
run on the calling event loop's thread: a turn's commit is a fraction of a millisecond
(two inserts, one update, one fsync), and handing it to a worker thread costs about as
much again as the commit itself. A server that cannot afford any blocking in its loop
should use the Postgres store.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from .._records import SessionRecord
from ..errors import (
    ConcurrencyError,
    ConfigurationError,
    SessionExpiredError,
    SessionNotFoundError,
    StoreError,
    ValidationError,
)
from ..messages import Message
from ._rows import expired_entries, messages_from_rows, record_from_json, records_skipping_corrupt
from ._sqlite_migrations import check_current, migrate
from .base import Page, SessionPage, SessionQuery, encode_cursor, list_statement, to_micros

_SYNC_LEVELS = ("OFF", "NORMAL", "FULL", "EXTRA")

# A commit rewrites what a turn or a status change can change. Owner, provider and
# creation time never change after create(); leaving them out of SET spares SQLite
# rewriting the index they key (one page less to write and fsync per turn).
_UPDATE = (
    "UPDATE sessions SET status = ?, version = ?, updated_us = ?, expires_us = ?,"
    " message_count = ?, data = ? WHERE id = ? AND version = ?"
)


def _read_only(path: str) -> bool:
    """An existing database we may not write (or whose folder we may not write)."""
    if path == ":memory:" or not Path(path).exists():
        return False
    return not os.access(path, os.W_OK) or not os.access(Path(path).parent, os.W_OK)


class AsyncSQLiteStore:
    """A SQLite file (see the module docstring)."""

    kind = "sqlite"
    blocking_io = True

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: str = "FULL",
        busy_timeout_ms: int = 5000,
        read_only: bool | None = None,
    ) -> None:
        """``read_only``: open for reading only (None: when the file or its folder is
        not writable). Reads work; writes raise `StoreError`."""
        synchronous = synchronous.upper()
        if synchronous not in _SYNC_LEVELS:
            raise ConfigurationError(f"synchronous must be one of {', '.join(_SYNC_LEVELS)}")
        self.path = str(path) if str(path) == ":memory:" else str(Path(path).expanduser())
        self.read_only = _read_only(self.path) if read_only is None else read_only
        try:
            if self.path != ":memory:" and not self.read_only:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            db = self._connect()
            db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            if self.read_only:
                check_current(db, self.path)
            else:
                db.execute("PRAGMA journal_mode = WAL")
                db.execute(f"PRAGMA synchronous = {synchronous}")
                migrate(db, self.path)
        except (sqlite3.Error, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise StoreError(f"cannot open SQLite store {self.path}: {reason}") from None
        self._db: sqlite3.Connection | None = db
        # Statements never await, so one loop cannot interleave them; the lock covers
        # a store shared by managers on different threads.
        self._lock = threading.Lock()

    # -- helpers -------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if not self.read_only:
            return sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30
            )
        if not Path(self.path).is_file():
            raise sqlite3.OperationalError("no such file (a read-only store must exist)")
        # A WAL database in a folder we cannot write cannot keep its -shm file: read it
        # as an immutable snapshot.
        immutable = "&immutable=1" if not os.access(Path(self.path).parent, os.W_OK) else ""
        uri = f"{Path(self.path).absolute().as_uri()}?mode=ro{immutable}"
        return sqlite3.connect(
            uri, uri=True, isolation_level=None, check_same_thread=False, timeout=30
        )

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreError(f"SQLite store {self.path} is closed")
        return self._db

    @staticmethod
    def _row(record: SessionRecord) -> tuple[Any, ...]:
        return (
            record.user,
            record.provider,
            record.status.value,
            record.version,
            to_micros(record.created_at),
            to_micros(record.updated_at),
            None if record.expires_at is None else to_micros(record.expires_at),
            record.message_count,
            record.model_dump_json(),
            record.id,
        )

    @contextmanager
    def _guard(self, session_id: str | None) -> Iterator[sqlite3.Connection]:
        """Hold the lock; turn SQLite failures (locked, I/O, malformed) into StoreError."""
        with self._lock:
            try:
                yield self.db
            except sqlite3.IntegrityError:
                raise
            except sqlite3.Error as exc:
                what = f"session {session_id!r}" if session_id else "the store"
                raise StoreError(
                    f"SQLite store {self.path} failed on {what}: {exc}", session_id=session_id
                ) from exc

    @contextmanager
    def _transaction(self, session_id: str | None) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed if the body returns, else rolled back,
        including when COMMIT itself fails (the connection never stays inside it)."""
        with self._guard(session_id) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    # -- protocol ------------------------------------------------------------------

    async def create(self, record: SessionRecord, messages: Sequence[Message] = ()) -> None:
        row = self._row(record)
        with self._transaction(record.id) as db:
            try:
                db.execute(
                    "INSERT INTO sessions (user_id, provider, status, version, created_us,"
                    " updated_us, expires_us, message_count, data, id)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
            except sqlite3.IntegrityError as exc:
                raise ValidationError(f"session id {record.id!r} is already taken") from exc
            if messages:
                db.executemany(
                    "INSERT INTO messages (session_id, seq, data) VALUES (?, ?, ?)",
                    [(record.id, i, m.model_dump_json()) for i, m in enumerate(messages)],
                )

    async def get(self, session_id: str, *, user: str | None, now: datetime) -> SessionRecord:
        sql = "SELECT data, expires_us IS NOT NULL AND expires_us <= ? FROM sessions WHERE id = ?"
        params: list[Any] = [to_micros(now), session_id]
        if user is not None:
            sql += " AND user_id = ?"
            params.append(user)
        with self._guard(session_id) as db:
            row = db.execute(sql, params).fetchone()
        if row is None:
            raise SessionNotFoundError(session_id)
        if row[1]:
            raise SessionExpiredError(session_id)
        return record_from_json(session_id, row[0])

    async def commit(
        self,
        record: SessionRecord,
        *,
        expected_version: int,
        append: Sequence[Message] = (),
        keep: int | None = None,
    ) -> None:
        expires = None if record.expires_at is None else to_micros(record.expires_at)
        values = (
            record.status.value,
            record.version,
            to_micros(record.updated_at),
            expires,
            record.message_count,
            record.model_dump_json(),
            record.id,
            expected_version,
        )
        with self._transaction(record.id) as db:
            if db.execute(_UPDATE, values).rowcount != 1:
                if db.execute("SELECT 1 FROM sessions WHERE id = ?", (record.id,)).fetchone():
                    raise ConcurrencyError(record.id, expected_version)
                raise SessionNotFoundError(record.id)
            if keep is not None:
                db.execute(
                    "DELETE FROM messages WHERE session_id = ? AND seq >= ?", (record.id, keep)
                )
            if append:
                start = record.message_count - len(append)
                try:
                    db.executemany(
                        "INSERT INTO messages (session_id, seq, data) VALUES (?, ?, ?)",
                        [(record.id, start + i, m.model_dump_json()) for i, m in enumerate(append)],
                    )
                except sqlite3.IntegrityError as exc:
                    # A message slot already taken means another writer got there first.
                    raise ConcurrencyError(record.id, expected_version) from exc

    async def read_messages(
        self, session_id: str, *, after: int = 0, limit: int | None = None
    ) -> list[Message]:
        with self._guard(session_id) as db:
            rows = db.execute(
                "SELECT data FROM messages WHERE session_id = ? AND seq >= ? ORDER BY seq LIMIT ?",
                (session_id, after, -1 if limit is None else limit),
            ).fetchall()
        return messages_from_rows(session_id, [r[0] for r in rows])

    async def list_sessions(self, query: SessionQuery) -> SessionPage:
        sql, params = list_statement(query, "sessions", "?")
        with self._guard(None) as db:
            rows = db.execute(sql, params).fetchall()
        # A corrupt row is skipped (and logged by id): one damaged session must not hide
        # every other session from a listing.
        shown = rows[: query.limit]
        page = Page[SessionRecord](
            records_skipping_corrupt([(r[0], r[1]) for r in shown], self.path)
        )
        if len(rows) > query.limit:
            last = rows[query.limit - 1]
            page.next_cursor = encode_cursor(last[2], last[0])
        return page

    async def delete(self, session_id: str, *, user: str | None) -> bool:
        sql = "DELETE FROM sessions WHERE id = ?"
        params: list[Any] = [session_id]
        if user is not None:
            sql += " AND user_id = ?"
            params.append(user)
        with self._transaction(session_id) as db:
            removed = db.execute(sql, params).rowcount
            if removed:
                db.execute("DELETE FROM messages WHERE session_id = ?", (session_id,))
        return removed > 0

    async def delete_many(self, session_ids: Sequence[str]) -> int:
        if not session_ids:
            return 0
        marks = ",".join("?" * len(session_ids))
        with self._transaction(None) as db:
            removed = db.execute(
                f"DELETE FROM sessions WHERE id IN ({marks})", list(session_ids)
            ).rowcount
            db.execute(f"DELETE FROM messages WHERE session_id IN ({marks})", list(session_ids))
        return int(removed)

    async def expired(
        self, now: datetime, limit: int = 500
    ) -> list[tuple[str, SessionRecord | None]]:
        with self._guard(None) as db:
            rows = db.execute(
                "SELECT id, data FROM sessions WHERE expires_us IS NOT NULL AND expires_us <= ?"
                " ORDER BY expires_us, id LIMIT ?",
                (to_micros(now), limit),
            ).fetchall()
        return expired_entries((r[0], r[1]) for r in rows)

    async def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
