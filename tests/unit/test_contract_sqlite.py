"""What docs/stores.md promises of ``sqlite://`` URLs and files.

Relative paths are relative to the working directory; every documented
``synchronous`` level opens (and is applied); a file that cannot be opened, and a
store that was closed, raise `StoreError`.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

import threadline as tl
from threadline.stores import AsyncSQLiteStore, open_async_store, open_store


def texts(messages: list[tl.Message]) -> list[str]:
    return [m.text for m in messages]


async def test_a_relative_sqlite_url_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async with tl.AsyncSessionManager("sqlite:///nested/dir/chats.db") as manager:
        session = await manager.create()
        await session.send("kept")
    assert (tmp_path / "nested" / "dir" / "chats.db").is_file()
    absolute = f"sqlite:///{tmp_path / 'nested' / 'dir' / 'chats.db'}"  # four slashes
    assert absolute.startswith("sqlite:////")
    async with tl.AsyncSessionManager(absolute) as manager:
        again = await manager.get(session.id)
        assert texts(await again.load_messages()) == ["kept", "echo: kept"]


@pytest.mark.parametrize(
    ("level", "pragma"), [("OFF", 0), ("off", 0), ("NORMAL", 1), ("FULL", 2), ("EXTRA", 3)]
)
async def test_every_documented_synchronous_level_opens_and_applies(
    tmp_path: Path, level: str, pragma: int
) -> None:
    store = open_async_store(f"sqlite:///{tmp_path / 's.db'}?synchronous={level}")
    try:
        assert store.db.execute("PRAGMA synchronous").fetchone()[0] == pragma  # type: ignore[attr-defined]
        async with tl.AsyncSessionManager(store) as manager:
            session = await manager.create()
            assert (await session.send("hi")).text == "echo: hi"
    finally:
        await store.close()
    blocking = open_store(f"sqlite:///{tmp_path / 'b.db'}?synchronous={level}")
    try:
        assert blocking.db.execute("PRAGMA synchronous").fetchone()[0] == pragma  # type: ignore[attr-defined]
    finally:
        blocking.close()


def test_an_unknown_synchronous_level_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(tl.ConfigurationError, match="synchronous must be one of"):
        open_async_store(f"sqlite:///{tmp_path / 's.db'}?synchronous=SOMETIMES")
    assert not (tmp_path / "s.db").exists()


async def test_a_file_that_cannot_be_opened_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "plain").write_text("not a folder")
    for path in (tmp_path / "folder", tmp_path / "plain" / "inside.db"):
        with pytest.raises(tl.StoreError, match="cannot open SQLite store"):
            AsyncSQLiteStore(path)
        with pytest.raises(tl.StoreError, match="cannot open SQLite store"):
            tl.AsyncSessionManager(f"sqlite:///{path}")
    (tmp_path / "garbage.db").write_bytes(b"this is not a database file" * 200)
    with pytest.raises(tl.StoreError, match=r"garbage.db"):
        AsyncSQLiteStore(tmp_path / "garbage.db")


async def test_a_closed_sqlite_store_raises_store_error_and_closing_twice_is_fine(
    tmp_path: Path,
) -> None:
    store = AsyncSQLiteStore(tmp_path / "s.db")
    async with tl.AsyncSessionManager(store) as manager:
        session = await manager.create()
    await store.close()  # the manager closed it already
    with pytest.raises(tl.StoreError, match="is closed"):
        await store.read_messages(session.id)
    with pytest.raises(tl.StoreError, match="is closed"):
        await store.delete(session.id, user=None)
    reopened = AsyncSQLiteStore(tmp_path / "s.db")
    try:
        assert (await reopened.get(session.id, user=None, now=session.created_at)).id == session.id
    finally:
        await reopened.close()


async def test_a_corrupt_row_is_skipped_from_listings_and_logged_by_id_and_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "s.db"
    async with tl.AsyncSessionManager(f"sqlite:///{path}") as manager:
        bad = await manager.create()
        good = await manager.create()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE sessions SET data = '{oops' WHERE id = ?", (bad.id,))
    db.close()
    async with tl.AsyncSessionManager(f"sqlite:///{path}") as manager:
        with caplog.at_level(logging.WARNING, logger="threadline"):
            assert [i.id for i in await manager.list()] == [good.id]
    assert [r.getMessage() for r in caplog.records] == [
        f"skipping corrupt session row {bad.id} in {path}"
    ]


async def test_a_locked_database_fails_a_delete_with_a_store_error_naming_the_session(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.db"
    store = AsyncSQLiteStore(path, busy_timeout_ms=10)
    async with tl.AsyncSessionManager(store) as manager:
        session = await manager.create()
        blocker = sqlite3.connect(path, isolation_level=None, timeout=0.01)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(tl.StoreError, match="database is locked") as caught:
                await store.delete(session.id, user=None)
            assert caught.value.session_id == session.id
            assert f"session {session.id!r}" in str(caught.value)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert (await manager.get(session.id)).id == session.id


async def test_a_message_slot_already_taken_is_a_conflict_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    """A row past the record's message count (left by a writer that lost, say) makes
    the append collide: `ConcurrencyError` naming the session and version, and the
    turn's messages are rolled back."""
    path = tmp_path / "s.db"
    store = AsyncSQLiteStore(path)
    async with tl.AsyncSessionManager(store) as manager:
        session = await manager.create()
        await session.send("one")
        with sqlite3.connect(path) as db:
            db.execute(
                "INSERT INTO messages (session_id, seq, data) VALUES (?, 2, ?)",
                (session.id, tl.Message.user("stray").model_dump_json()),
            )
        db.close()
        with pytest.raises(tl.ConcurrencyError, match="changed since version 2") as caught:
            await session.send("two")
        assert (caught.value.session_id, caught.value.expected_version) == (session.id, 2)
        stored = await manager.get(session.id)
        assert [m.text for m in await stored.load_messages()] == ["one", "echo: one"]
        # The turn reached the server before it failed: its copy is no longer used.
        assert stored.native_id is None


async def test_a_locked_database_fails_a_commit_with_a_store_error_naming_the_session(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.db"
    store = AsyncSQLiteStore(path, busy_timeout_ms=10)
    async with tl.AsyncSessionManager(store) as manager:
        session = await manager.create()
        blocker = sqlite3.connect(path, isolation_level=None, timeout=0.01)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(tl.StoreError, match="database is locked") as caught:
                await session.pause()
            assert caught.value.session_id == session.id
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert (await manager.get(session.id)).status is tl.SessionStatus.ACTIVE
