"""v1 storages: v1 database files read and written unchanged, v1's return conventions
(with the error logged, never the content), and the storage backed by threadline."""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

import threadline as tl
from threadline_v1 import (
    InMemorySessionStorage,
    LangSwarmSession,
    MessageRole,
    SessionStatus,
    SessionStorageFactory,
    SQLiteSessionStorage,
    ThreadlineSessionStorage,
)
from threadline_v1.storage import SessionStorage

# The table exactly as LangSwarm v1 created it.
V1_DDL = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, provider TEXT NOT NULL,
    model TEXT NOT NULL, status TEXT NOT NULL, session_control TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, last_activity TEXT,
    metadata TEXT NOT NULL, history TEXT NOT NULL
)"""


def v1_row(session: LangSwarmSession) -> tuple[object, ...]:
    """The row v1's ``save_session`` wrote for ``session``."""
    data, meta = session.to_dict(), session.metadata
    return (
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


def sample_session(session_id: str = "session_0001") -> LangSwarmSession:
    s = LangSwarmSession("alice", session_id, provider="claude", model="claude-3", tags=["t"])
    s.metadata.created_at = s.metadata.updated_at = datetime(2025, 5, 1, 9, 0, 0, 250000)
    s.metadata.custom_metadata = {"team": "ünïcode ✓"}
    s.add_message("Be brief.", MessageRole.SYSTEM, timestamp=datetime(2025, 5, 1, 9, 0, 1))
    s.add_message("Grüße 👋", MessageRole.USER, timestamp=datetime(2025, 5, 1, 9, 0, 2))
    s.add_message("Hallo!", MessageRole.ASSISTANT, timestamp=datetime(2025, 5, 1, 9, 0, 3))
    s.metadata.updated_at = s.metadata.last_activity = datetime(2025, 5, 1, 9, 0, 3)
    return s


def write_v1_file(path: Path, *sessions: LangSwarmSession) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(V1_DDL)
        for statement in ("user_id", "status", "updated_at"):
            conn.execute(f"CREATE INDEX IF NOT EXISTS idx_{statement} ON sessions({statement})")
        conn.executemany(
            "INSERT INTO sessions VALUES (?,?,?,?,?,?,?,?,?,?,?)", map(v1_row, sessions)
        )
    conn.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_v1_file_opens_reads_and_round_trips_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "langswarm_sessions.db"
    original = sample_session()
    write_v1_file(path, original)
    before = digest(path)
    storage = SQLiteSessionStorage(path)
    loaded = storage.load_session("session_0001")
    assert loaded is not None and loaded.to_dict() == original.to_dict()
    assert [m.session_id for m in storage.list_sessions(user_id="alice")] == ["session_0001"]
    assert digest(path) == before  # opening and reading changed nothing
    with sqlite3.connect(path) as conn:
        stored_before = conn.execute("SELECT * FROM sessions").fetchall()
    assert storage.save_session(loaded)
    with sqlite3.connect(path) as conn:
        stored_after = conn.execute("SELECT * FROM sessions").fetchall()
        created = conn.execute("SELECT created_at FROM sessions").fetchone()[0]
    assert stored_after == stored_before == [v1_row(original)]
    assert created == "2025-05-01T09:00:00.250000"  # naive, as v1 wrote it


def test_the_shims_file_is_one_v1_reads(tmp_path: Path) -> None:
    """What the shim writes is v1's row, byte for byte."""
    path = tmp_path / "v1.db"
    session = sample_session()
    assert SQLiteSessionStorage(path).save_session(session)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT * FROM sessions").fetchall() == [v1_row(session)]
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"idx_user_id", "idx_status", "idx_updated_at"} <= indexes


def test_in_memory_storage_keeps_the_live_objects() -> None:
    storage = InMemorySessionStorage()
    session = sample_session()
    assert storage.save_session(session)
    assert storage.load_session(session.session_id) is session
    assert storage.list_sessions()[0] is session.metadata
    assert storage.update_session_metadata(session.session_id, {"tags": ["new"]})
    assert session.metadata.tags == ["new"] and session.metadata.updated_at > datetime(2025, 6, 1)


def test_update_metadata_sets_fields_and_keeps_an_explicit_updated_at(
    storage: SessionStorage,
) -> None:
    session = sample_session()
    assert storage.save_session(session)
    when = datetime(2025, 7, 1, 8, 0)
    assert storage.update_session_metadata(
        session.session_id, {"context_limit": 5, "updated_at": when, "not_a_field": 1}
    )
    loaded = storage.load_session(session.session_id)
    assert loaded is not None
    assert (loaded.metadata.context_limit, loaded.metadata.updated_at) == (5, when)
    assert storage.update_session_metadata("missing", {"context_limit": 1}) is False
    assert storage.update_session_metadata(session.session_id, {"status": "archived"})
    archived = storage.load_session(session.session_id)
    assert archived is not None and archived.metadata.status is SessionStatus.ARCHIVED


def test_sqlite_failures_return_v1_values_and_log_no_content(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "v1.db"
    storage = SQLiteSessionStorage(path)
    good, damaged = sample_session("good"), sample_session("damaged")
    assert storage.save_session(good) and storage.save_session(damaged)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE sessions SET history = '{not json' WHERE session_id = 'damaged'")
        conn.execute("UPDATE sessions SET metadata = 'Grüße 👋 {' WHERE session_id = 'damaged'")
    conn.close()
    caplog.set_level(logging.DEBUG, logger="threadline.v1")
    assert storage.load_session("damaged") is None
    assert [m.session_id for m in storage.list_sessions()] == ["good"]  # one bad row only
    assert storage.load_session("bad\x00id") is None
    assert storage.delete_session("missing") is False
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 3 and "damaged" in errors[0].getMessage()
    assert all("Grüße" not in r.getMessage() for r in caplog.records)

    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE sessions")
    conn.close()
    assert storage.save_session(good) is False
    assert storage.list_sessions() == []
    assert storage.cleanup_expired_sessions() == 0
    assert storage.update_session_metadata("good", {"tags": []}) is False


def test_storage_factory(tmp_path: Path) -> None:
    assert isinstance(SessionStorageFactory.create_storage("memory"), InMemorySessionStorage)
    sqlite_storage = SessionStorageFactory.create_storage("sqlite", db_path=str(tmp_path / "f.db"))
    assert isinstance(sqlite_storage, SQLiteSessionStorage) and (tmp_path / "f.db").exists()
    backed = SessionStorageFactory.create_storage("threadline", store="memory://")
    assert isinstance(backed, ThreadlineSessionStorage)
    backed.close()
    with pytest.raises(ValueError, match="project_id"):
        SessionStorageFactory.create_storage("bigquery")
    with pytest.raises(ValueError, match="Unknown storage type: cassandra"):
        SessionStorageFactory.create_storage("cassandra")


# -- the threadline-backed storage -----------------------------------------------------


@pytest.fixture
def backed(tmp_path: Path) -> Iterator[ThreadlineSessionStorage]:
    storage = ThreadlineSessionStorage(f"sqlite:///{tmp_path / 'tl.db'}")
    yield storage
    storage.close()


def test_a_v1_session_becomes_a_threadline_session(backed: ThreadlineSessionStorage) -> None:
    session = sample_session()
    assert backed.save_session(session)
    thread = backed.threadline.get("session_0001", user="alice")
    assert (thread.provider, thread.model, thread.system) == ("anthropic", "claude-3", "Be brief.")
    assert [(m.role, m.text) for m in thread.messages] == [
        ("user", "Grüße 👋"),
        ("assistant", "Hallo!"),
    ]
    assert thread.metadata["team"] == "ünïcode ✓" and thread.metadata["tags"] == ["t"]
    loaded = backed.load_session("session_0001")
    assert loaded is not None and loaded.to_dict() == session.to_dict()


def test_saving_what_is_stored_writes_nothing_and_status_uses_the_lifecycle(
    backed: ThreadlineSessionStorage,
) -> None:
    session = sample_session()
    backed.save_session(session)
    assert backed.save_session(session)
    assert backed.threadline.get("session_0001").version == 1
    session.archive()
    assert backed.save_session(session)
    thread = backed.threadline.get("session_0001")
    assert thread.status is tl.SessionStatus.ARCHIVED and thread.version == 2
    loaded = backed.load_session("session_0001")
    assert loaded is not None and loaded.metadata.status is SessionStatus.ARCHIVED
    assert [m.session_id for m in backed.list_sessions(status=SessionStatus.ARCHIVED)] == [
        "session_0001"
    ]
    assert backed.list_sessions(status=SessionStatus.ACTIVE) == []


def test_other_changes_rewrite_the_session_keeping_stored_messages(
    backed: ThreadlineSessionStorage,
) -> None:
    session = sample_session()
    backed.save_session(session)
    session.metadata.custom_metadata["priority"] = "high"
    session.metadata.status = SessionStatus.EXPIRED  # no lifecycle step records this
    session.add_message("One more", MessageRole.USER)
    assert backed.save_session(session)
    thread = backed.threadline.get("session_0001")
    assert thread.metadata["priority"] == "high" and thread.status is tl.SessionStatus.ARCHIVED
    assert [m.text for m in thread.messages] == ["Grüße 👋", "Hallo!", "One more"]
    loaded = backed.load_session("session_0001")
    assert loaded is not None and loaded.metadata.status is SessionStatus.EXPIRED
    assert [m.to_dict() for m in loaded.history.messages] == [
        m.to_dict() for m in session.history.messages
    ]


def test_ids_and_owners_threadline_refuses(
    backed: ThreadlineSessionStorage, caplog: pytest.LogCaptureFixture
) -> None:
    """A v1 id threadline refuses is stored under a stable hash; a bad owner is refused."""
    odd = sample_session("chat with alice/2025")
    assert backed.save_session(odd)
    [info] = backed.threadline.list()
    assert info.id.startswith("v1-") and info.id != odd.session_id
    loaded = backed.load_session("chat with alice/2025")
    assert loaded is not None and loaded.session_id == "chat with alice/2025"
    assert backed.delete_session("chat with alice/2025") and backed.threadline.list() == []

    bad_owner = sample_session("s2")
    bad_owner.metadata.user_id = "Alice Smith"
    caplog.set_level(logging.ERROR, logger="threadline.v1")
    assert backed.save_session(bad_owner) is False
    assert "s2" in caplog.text and "ValidationError" in caplog.text
    assert backed.load_session("s2") is None


def test_providers_threadline_lacks_are_kept_and_refuse_turns_clearly(
    backed: ThreadlineSessionStorage,
) -> None:
    session = LangSwarmSession("bob", "m1", provider="mistral", model="mistral-large")
    session.add_message("Bonjour", MessageRole.USER)
    assert backed.save_session(session)
    thread = backed.threadline.get("m1")
    assert thread.provider == "mistral" and thread.messages[0].text == "Bonjour"
    with pytest.raises(tl.ConfigurationError, match="forked to a supported provider"):
        thread.send("Encore")
    child = thread.fork(provider="echo")
    assert child.send("Encore").text == "echo: Encore"


def test_cleanup_and_list_go_by_v1_times(backed: ThreadlineSessionStorage) -> None:
    old, new = sample_session("old"), sample_session("new")
    new.metadata.updated_at = datetime.now()
    backed.save_session(new)  # stored first: threadline's own order would put it last
    backed.save_session(old)
    assert [m.session_id for m in backed.list_sessions(user_id="alice")] == ["new", "old"]
    assert backed.cleanup_expired_sessions(max_age_days=30) == 1
    assert backed.load_session("old") is None and backed.load_session("new") is not None
