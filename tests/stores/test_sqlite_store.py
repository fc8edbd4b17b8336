"""The SQLite store: its schema, migrations, durability settings and damaged data."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import threadline as tl
from threadline.stores import SQLiteStore, open_store
from threadline.stores._sqlite_migrations import MIGRATIONS, migrate


def _pragma(path: Path, name: str) -> object:
    store = SQLiteStore(path)
    try:
        return store.db.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        store.db.close()


def test_wal_and_full_sync_by_default(tmp_path: Path) -> None:
    assert _pragma(tmp_path / "d.db", "journal_mode") == "wal"
    assert _pragma(tmp_path / "d.db", "synchronous") == 2  # FULL
    relaxed = open_store(f"sqlite:///{tmp_path / 'r.db'}?synchronous=NORMAL")
    assert isinstance(relaxed, SQLiteStore)
    assert relaxed.db.execute("PRAGMA synchronous").fetchone()[0] == 1


def test_fresh_database_records_every_migration(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    SQLiteStore(path)
    db = sqlite3.connect(path)
    rows = db.execute("SELECT number, name FROM threadline_migrations ORDER BY number").fetchall()
    assert rows == [(n, name) for n, name, _ in MIGRATIONS]
    indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"sessions_by_user_created", "sessions_by_user_updated", "sessions_by_expiry"} <= indexes


def test_a_new_file_is_migrated_in_one_transaction(tmp_path: Path) -> None:
    """One commit for the whole schema: one fsync on a new file at synchronous=FULL."""
    path = tmp_path / "one.db"
    db = sqlite3.connect(path, isolation_level=None)
    statements: list[str] = []
    db.set_trace_callback(statements.append)
    assert migrate(db, str(path)) == [name for _, name, _ in MIGRATIONS]
    assert [s for s in statements if s in ("BEGIN IMMEDIATE", "COMMIT")] == [
        "BEGIN IMMEDIATE",
        "COMMIT",
    ]
    statements.clear()
    assert migrate(db, str(path)) == []  # current: a read, no write transaction
    assert statements == ["SELECT number FROM threadline_migrations"]


def test_a_failing_migration_leaves_the_schema_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "fails.db"
    db = sqlite3.connect(path, isolation_level=None)
    migrate(db, str(path), up_to=1)

    def broken(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE half_done (x)")
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(
        "threadline.stores._sqlite_migrations.MIGRATIONS",
        [*MIGRATIONS, (len(MIGRATIONS) + 1, "m999_broken", broken)],
    )
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        migrate(db, str(path))
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    assert "half_done" not in tables and "sessions_by_user_updated" not in tables
    assert [r[0] for r in db.execute("SELECT number FROM threadline_migrations")] == [1]


def test_older_database_is_migrated_in_place(tmp_path: Path) -> None:
    """A database left at migration 1 (with data) gains migration 2 on open and
    keeps its sessions."""
    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None)
    assert migrate(db, str(path), up_to=1) == ["m001_initial"]
    db.close()
    with tl.SessionManager(f"sqlite:///{path}") as m:  # opening applies m002
        s = m.create(user="u")
        s.send("kept")
    # Reopen the older-schema scenario with data already present.
    path2 = tmp_path / "old_with_data.db"
    with tl.SessionManager(f"sqlite:///{path2}") as m:
        s2 = m.create(user="u")
        s2.send("written under the new schema")
    db = sqlite3.connect(path2, isolation_level=None)
    db.execute("DROP INDEX sessions_by_user_updated")
    db.execute("DROP INDEX sessions_by_expiry")
    db.execute("DELETE FROM threadline_migrations WHERE number = 2")
    db.close()
    with tl.SessionManager(f"sqlite:///{path2}") as m:
        assert [x.text for x in m.get(s2.id, user="u").messages] == [
            "written under the new schema",
            "echo: written under the new schema",
        ]
    db = sqlite3.connect(path2)
    assert db.execute("SELECT max(number) FROM threadline_migrations").fetchone()[0] == 3


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    SQLiteStore(path)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("INSERT INTO threadline_migrations VALUES (99, 'm099_future', 'later')")
    db.close()
    with pytest.raises(tl.StoreError, match="newer than this threadline knows"):
        tl.SessionManager(f"sqlite:///{path}")


def test_corrupt_rows_name_their_session_and_spare_others(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    with tl.SessionManager(url) as m:
        bad_record = m.create()
        bad_message = m.create()
        bad_message.send("fine at first")
        good = m.create()
        good.send("still fine")
        ids = (bad_record.id, bad_message.id, good.id)
    db = sqlite3.connect(tmp_path / "c.db", isolation_level=None)
    db.execute("UPDATE sessions SET data = '{not json' WHERE id = ?", (ids[0],))
    db.execute("UPDATE messages SET data = '[1,2' WHERE session_id = ? AND seq = 1", (ids[1],))
    db.close()
    with tl.SessionManager(url) as m:
        with pytest.raises(tl.StoreError, match=ids[0]) as info:
            m.get(ids[0])
        assert info.value.session_id == ids[0]
        # The record is fine; the damaged message row shows when the history is read.
        damaged = m.get(ids[1])
        with pytest.raises(tl.StoreError, match=ids[1]):
            damaged.messages  # noqa: B018
        assert m.get(ids[2]).messages[1].text == "echo: still fine"


async def test_windowed_reads_and_atomic_restore(tmp_path: Path) -> None:
    async with tl.AsyncSessionManager(f"sqlite:///{tmp_path / 'w.db'}") as m:
        s = await m.create(mode="local")
        for i in range(5):
            await s.send(f"m{i}")
        store = m.store
        window = await store.read_messages(s.id, after=2, limit=3)
        assert [x.text for x in window] == ["m1", "echo: m1", "m2"]
        assert len(await store.read_messages(s.id, after=8)) == 2
        cp_count = 4
        await s.restore(await _checkpoint_at(s, cp_count))
        rows = await store.read_messages(s.id)
        assert [x.text for x in rows] == ["m0", "echo: m0", "m1", "echo: m1"]
        await s.send("m-new")
        assert len(await store.read_messages(s.id)) == 6


async def _checkpoint_at(s: tl.AsyncConversationSession, count: int) -> tl.Checkpoint:
    # A checkpoint is taken "now"; build one for an earlier point through the record.
    cp = tl.Checkpoint(label="earlier", message_count=count)
    record = s._record
    new = record.model_copy(
        update={"checkpoints": [*record.checkpoints, cp], "version": record.version + 1}
    )
    await s._runtime.store.commit(new, expected_version=record.version)
    s._record = new
    return cp


def test_database_locked_by_another_writer_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    store = SQLiteStore(path, busy_timeout_ms=50)
    blocker = sqlite3.connect(path, isolation_level=None, timeout=0.05)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with (
            tl.SessionManager(store) as m,
            pytest.raises(tl.StoreError, match="database is locked"),
        ):
            m.create()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


def test_home_directory_in_the_path_is_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    with tl.SessionManager("sqlite:///~/nested/chats.db") as m:
        m.create().send("at home")
    assert (tmp_path / "nested" / "chats.db").exists()


@pytest.mark.parametrize(
    "where",
    [
        "/proc/threadline-test/x/y.db",  # a folder that cannot be created
        "{tmp}/a-file/sessions.db",  # a parent that is a file
    ],
)
def test_a_path_that_cannot_hold_a_database_is_a_store_error(tmp_path: Path, where: str) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    url = "sqlite:///" + where.format(tmp=tmp_path)
    with pytest.raises(tl.StoreError, match="cannot open SQLite store") as info:
        tl.SessionManager(url)
    assert info.value.__cause__ is None


def test_a_read_only_store_can_be_listed_and_read_but_not_written(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    with tl.SessionManager(f"sqlite:///{path}") as m:
        s = m.create(user="u")
        s.send("kept")
    with tl.SessionManager(f"sqlite:///{path}?mode=ro") as m:
        assert [i.id for i in m.list()] == [s.id]
        assert [x.text for x in m.get(s.id).messages] == ["kept", "echo: kept"]
        with pytest.raises(tl.StoreError, match="readonly"):
            m.create()
        with pytest.raises(tl.StoreError, match="readonly"):
            m.get(s.id).send("refused")
    with tl.SessionManager(f"sqlite:///{path}") as m:
        assert m.get(s.id).version == 2


def test_a_read_only_store_must_exist_and_be_current(tmp_path: Path) -> None:
    with pytest.raises(tl.StoreError, match="must exist"):
        tl.SessionManager(f"sqlite:///{tmp_path / 'none.db'}?mode=ro")
    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None)
    migrate(db, str(path), up_to=1)
    db.close()
    with pytest.raises(tl.StoreError, match="not up to date"):
        tl.SessionManager(f"sqlite:///{path}?mode=ro")
    with pytest.raises(tl.ConfigurationError, match="'ro'"):
        tl.SessionManager(f"sqlite:///{path}?mode=readonly")


def test_a_session_with_a_damaged_record_can_still_be_deleted(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'd.db'}"
    with tl.SessionManager(url) as m:
        bad = m.create(user="u")
        bad.send("x")
        other = m.create(user="u")
    db = sqlite3.connect(tmp_path / "d.db", isolation_level=None)
    db.execute("UPDATE sessions SET data = '{not json' WHERE id = ?", (bad.id,))
    db.close()
    with tl.SessionManager(url) as m:
        with pytest.raises(tl.SessionNotFoundError, match="not found"):
            m.delete(bad.id, user="someone-else")  # ownership still holds
        m.delete(bad.id, user="u")
        with pytest.raises(tl.SessionNotFoundError, match="not found"):
            m.get(bad.id)
        assert [i.id for i in m.list(user="u")] == [other.id]
    db = sqlite3.connect(tmp_path / "d.db", isolation_level=None)
    assert (
        db.execute("SELECT count(*) FROM messages WHERE session_id = ?", (bad.id,)).fetchone()[0]
        == 0
    )
