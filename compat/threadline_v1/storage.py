"""v1 session storage (`langswarm.core.session.storage`), reproduced.

`SQLiteSessionStorage` reads and writes v1 database files unchanged: the same
``sessions`` table, the same JSON columns (``json.dumps`` defaults, as v1 wrote them)
and naive timestamps. Legacy code checks return values rather than catching
exceptions, so storages keep v1's conventions (False/None/[]/0 on failure) and log the
error instead of printing it. Log lines name sessions, never message content.

`threadline_v1.threadline_storage.ThreadlineSessionStorage` is the same interface over
a threadline store; ``SessionStorageFactory.create_storage("threadline", store=URL)``
builds one.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .models import LangSwarmSession, SessionMetadata, SessionStatus

__all__ = [
    "InMemorySessionStorage",
    "SQLiteSessionStorage",
    "SessionStorage",
    "SessionStorageFactory",
    "get_session_storage",
    "set_session_storage",
]

logger = logging.getLogger("threadline.v1")

MAX_V1_ID_LENGTH = 512


def valid_v1_id(value: object) -> bool:
    """Whether ``value`` may be used as a v1 session id.

    v1 accepted any string, and its files hold such ids, so the rule is loose: a
    non-empty string without control characters, at most 512 characters. (SQL is
    always parameterised; the threadline-backed storage applies threadline's rule.)
    """
    return isinstance(value, str) and 0 < len(value) <= MAX_V1_ID_LENGTH and value.isprintable()


def _status_value(status: SessionStatus | str | None) -> str | None:
    return None if status is None else SessionStatus(status).value


class SessionStorage(ABC):
    """What every v1 storage does."""

    @abstractmethod
    def save_session(self, session: LangSwarmSession) -> bool: ...

    @abstractmethod
    def load_session(self, session_id: str) -> LangSwarmSession | None: ...

    @abstractmethod
    def delete_session(self, session_id: str) -> bool: ...

    @abstractmethod
    def list_sessions(
        self,
        user_id: str | None = None,
        status: SessionStatus | None = None,
        limit: int = 100,
    ) -> list[SessionMetadata]: ...

    @abstractmethod
    def update_session_metadata(self, session_id: str, metadata: dict[str, Any]) -> bool: ...

    @abstractmethod
    def cleanup_expired_sessions(self, max_age_days: int = 30) -> int: ...


def apply_updates(session: LangSwarmSession, updates: dict[str, Any]) -> None:
    """Set the metadata fields ``updates`` names; bump ``updated_at`` unless given."""
    for key, value in updates.items():
        if hasattr(session.metadata, key):
            setattr(session.metadata, key, value)
    session.metadata.__post_init__()  # "archived" given as a string becomes the enum
    if "updated_at" not in updates:
        session.metadata.updated_at = datetime.now()


class InMemorySessionStorage(SessionStorage):
    """Keeps the live session objects themselves (no copies), as v1 did."""

    def __init__(self) -> None:
        self._sessions: dict[str, LangSwarmSession] = {}

    def save_session(self, session: LangSwarmSession) -> bool:
        if not valid_v1_id(session.session_id):
            logger.error("not saved: invalid session id %.40r", session.session_id)
            return False
        self._sessions[session.session_id] = session
        return True

    def load_session(self, session_id: str) -> LangSwarmSession | None:
        return self._sessions.get(session_id) if valid_v1_id(session_id) else None

    def delete_session(self, session_id: str) -> bool:
        return (
            self._sessions.pop(session_id, None) is not None if valid_v1_id(session_id) else False
        )

    def list_sessions(
        self,
        user_id: str | None = None,
        status: SessionStatus | None = None,
        limit: int = 100,
    ) -> list[SessionMetadata]:
        sessions = list(self._sessions.values())
        if user_id:
            sessions = [s for s in sessions if s.user_id == user_id]
        if status:
            sessions = [s for s in sessions if s.metadata.status == status]
        sessions.sort(key=lambda s: s.metadata.updated_at, reverse=True)
        return [s.metadata for s in sessions[:limit]]

    def update_session_metadata(self, session_id: str, metadata: dict[str, Any]) -> bool:
        session = self.load_session(session_id)
        if session is None:
            return False
        apply_updates(session, metadata)
        return True

    def cleanup_expired_sessions(self, max_age_days: int = 30) -> int:
        cutoff = datetime.now() - timedelta(days=max_age_days)
        expired = [sid for sid, s in self._sessions.items() if s.metadata.updated_at < cutoff]
        for session_id in expired:
            del self._sessions[session_id]
        return len(expired)


_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS sessions (
        session_id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        status TEXT NOT NULL,
        session_control TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        last_activity TEXT,
        metadata TEXT NOT NULL,
        history TEXT NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS idx_user_id ON sessions(user_id)",
    "CREATE INDEX IF NOT EXISTS idx_status ON sessions(status)",
    "CREATE INDEX IF NOT EXISTS idx_updated_at ON sessions(updated_at)",
)


class SQLiteSessionStorage(SessionStorage):
    """A v1 SQLite file: one ``sessions`` row per session, metadata and history as JSON."""

    def __init__(self, db_path: str | Path = "langswarm_sessions.db") -> None:
        self.db_path = Path(db_path)
        self._init_db()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # One short connection per call, as v1 did, but closed (v1 left it to the GC)
        # and committed or rolled back as one transaction.
        with closing(sqlite3.connect(self.db_path)) as conn, conn:
            conn.row_factory = sqlite3.Row
            yield conn

    def _init_db(self) -> None:
        with self._connect() as conn:
            for statement in _SCHEMA:
                conn.execute(statement)

    def save_session(self, session: LangSwarmSession) -> bool:
        try:
            if not valid_v1_id(session.session_id):
                raise ValueError("invalid session id")
            data = session.to_dict()
            meta = session.metadata
            row = (
                session.session_id,
                session.user_id,
                session.provider,
                session.model,
                meta.status.value,
                meta.session_control.value,
                meta.created_at.isoformat(),
                meta.updated_at.isoformat(),
                meta.last_activity.isoformat() if meta.last_activity else None,
                json.dumps(data["metadata"]),
                json.dumps(data["history"]),
            )
            with self._connect() as conn:
                conn.execute(
                    "INSERT OR REPLACE INTO sessions (session_id, user_id, provider, model,"
                    " status, session_control, created_at, updated_at, last_activity,"
                    " metadata, history) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
            return True
        except Exception as exc:
            _log_failure("save session %.60r", session.session_id, exc)
            return False

    def load_session(self, session_id: str) -> LangSwarmSession | None:
        try:
            if not valid_v1_id(session_id):
                raise ValueError("invalid session id")
            with self._connect() as conn:
                row = conn.execute(
                    "SELECT metadata, history FROM sessions WHERE session_id = ?", (session_id,)
                ).fetchone()
            if row is None:
                return None
            return LangSwarmSession.from_dict(
                {"metadata": json.loads(row["metadata"]), "history": json.loads(row["history"])}
            )
        except Exception as exc:
            _log_failure("load session %.60r", session_id, exc)
            return None

    def delete_session(self, session_id: str) -> bool:
        try:
            if not valid_v1_id(session_id):
                raise ValueError("invalid session id")
            with self._connect() as conn:
                cursor = conn.execute("DELETE FROM sessions WHERE session_id = ?", (session_id,))
            return cursor.rowcount > 0
        except Exception as exc:
            _log_failure("delete session %.60r", session_id, exc)
            return False

    def list_sessions(
        self,
        user_id: str | None = None,
        status: SessionStatus | None = None,
        limit: int = 100,
    ) -> list[SessionMetadata]:
        try:
            query = "SELECT session_id, metadata FROM sessions WHERE 1=1"
            params: list[Any] = []
            if user_id:
                query += " AND user_id = ?"
                params.append(user_id)
            if status:
                query += " AND status = ?"
                params.append(_status_value(status))
            query += " ORDER BY updated_at DESC LIMIT ?"
            params.append(limit)
            with self._connect() as conn:
                rows = conn.execute(query, params).fetchall()
        except Exception as exc:
            _log_failure("list sessions%s", "", exc)
            return []
        found = []
        for row in rows:
            # One damaged row must not hide the others (v1 returned nothing at all).
            try:
                found.append(SessionMetadata.from_dict(json.loads(row["metadata"])))
            except Exception as exc:
                _log_failure("read the metadata of session %.60r", row["session_id"], exc)
        return found

    def update_session_metadata(self, session_id: str, metadata: dict[str, Any]) -> bool:
        session = self.load_session(session_id)
        if session is None:
            return False
        try:
            apply_updates(session, metadata)
        except Exception as exc:
            _log_failure("update session %.60r", session_id, exc)
            return False
        return self.save_session(session)

    def cleanup_expired_sessions(self, max_age_days: int = 30) -> int:
        try:
            cutoff = datetime.now() - timedelta(days=max_age_days)
            with self._connect() as conn:
                cursor = conn.execute(
                    "DELETE FROM sessions WHERE updated_at < ?", (cutoff.isoformat(),)
                )
            return cursor.rowcount
        except Exception as exc:
            _log_failure("clean up expired sessions%s", "", exc)
            return 0


def _log_failure(action: str, subject: str, exc: Exception) -> None:
    # The exception type and message only: no traceback with locals, no content.
    logger.error("v1 storage could not " + action + ": %s: %s", subject, type(exc).__name__, exc)


class SessionStorageFactory:
    @classmethod
    def create_storage(cls, storage_type: str = "sqlite", **kwargs: Any) -> SessionStorage:
        """``"memory"``, ``"sqlite"`` (``db_path``), ``"bigquery"`` (``project_id``;
        needs google-cloud-bigquery) or ``"threadline"`` (``store``: a store URL or a
        ``threadline.SessionManager``; ``providers``)."""
        if storage_type == "memory":
            return InMemorySessionStorage()
        if storage_type == "sqlite":
            return SQLiteSessionStorage(kwargs.get("db_path", "langswarm_sessions.db"))
        if storage_type == "bigquery":
            project_id = kwargs.get("project_id")
            if not project_id:
                raise ValueError("BigQuery storage requires 'project_id' parameter")
            from .bigquery_storage import BigQuerySessionStorage

            return BigQuerySessionStorage(
                project_id=project_id,
                dataset_id=kwargs.get("dataset_id", "langswarm_sessions"),
                table_id=kwargs.get("table_id", "session_events"),
            )
        if storage_type == "threadline":
            from .threadline_storage import ThreadlineSessionStorage

            return ThreadlineSessionStorage(
                kwargs.get("store", "memory://"), providers=kwargs.get("providers", ())
            )
        raise ValueError(f"Unknown storage type: {storage_type}")

    @classmethod
    def get_default_storage(cls) -> SessionStorage:
        return cls.create_storage("sqlite")


_default_storage: SessionStorage | None = None


def get_session_storage() -> SessionStorage:
    """The process-wide storage; v1's default is ``langswarm_sessions.db`` here."""
    global _default_storage
    if _default_storage is None:
        _default_storage = SessionStorageFactory.get_default_storage()
    return _default_storage


def set_session_storage(storage: SessionStorage) -> None:
    global _default_storage
    _default_storage = storage


def __getattr__(name: str) -> Any:
    # v1 exposed these here; looked up on use, so that importing this module never
    # imports the optional BigQuery library (nor the module that defines the class).
    if name == "BigQuerySessionStorage":
        from .bigquery_storage import BigQuerySessionStorage

        return BigQuerySessionStorage
    if name == "BIGQUERY_AVAILABLE":
        from .bigquery_storage import bigquery_available

        return bigquery_available()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
