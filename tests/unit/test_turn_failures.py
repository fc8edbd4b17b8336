"""Turns that do not complete: what happens to the mirror and to server-side state.

The mirror never gains a half turn. Server-side state that may hold one (the request
may have reached the server) stops being used and is deleted; the next turn re-seeds.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import threadline as tl
from threadline.providers import EchoProvider
from threadline.providers.base import TurnRequest, TurnResult
from threadline.testing import AsyncEchoEngine


class _SlowEngine(AsyncEchoEngine):
    _provider: SlowEcho

    async def turn(self, request: TurnRequest) -> TurnResult:
        self._provider.entered.set()
        await self._provider.release.wait()
        return await super().turn(request)


class SlowEcho(EchoProvider):
    """Echo that waits on an event before answering (to interrupt a turn in flight)."""

    async_engine_class = _SlowEngine

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.entered = asyncio.Event()


def _timeout() -> tl.ProviderUnavailableError:
    return tl.ProviderUnavailableError("timed out", provider="echo", retryable=True, ambiguous=True)


def _unavailable() -> tl.ProviderUnavailableError:
    return tl.ProviderUnavailableError("503", provider="echo", status_code=503, retryable=True)


async def test_abandoned_stream_drops_and_deletes_server_state() -> None:
    echo = EchoProvider()
    async with tl.AsyncSessionManager("memory://", providers=[echo]) as m:
        s = await m.create()
        await s.send("first")
        handle = s.native_id
        stream = s.stream("abandon me")
        await anext(stream)
        await stream.aclose()  # type: ignore[attr-defined]
        assert [x.text for x in s.messages] == ["first", "echo: first"]
        assert s.native_id is None
        assert handle not in echo.conversations
        await s.send("third")
        assert s.native_id is not None
        assert [x.text for x in echo.conversations[s.native_id]] == [
            "first",
            "echo: first",
            "third",
            "echo: third",
        ]


async def test_cancelled_send_leaves_mirror_and_drops_server_state() -> None:
    slow = SlowEcho()
    async with tl.AsyncSessionManager("memory://", providers=[slow]) as m:
        s = await m.create()
        slow.release.set()
        await s.send("first")
        slow.release.clear()
        slow.entered.clear()
        task = asyncio.create_task(s.send("cancel me"))
        await slow.entered.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert [x.text for x in s.messages] == ["first", "echo: first"]
        assert s.native_id is None
        slow.release.set()
        assert (await s.send("next")).text == "echo: next"


async def test_ambiguous_then_refused_retries_still_drop_server_state(
    no_sleep: list[float],
) -> None:
    """timeout -> 503: the last error is not ambiguous, but the first one was."""
    echo = EchoProvider(faults=[None, _timeout(), _unavailable()])
    policy = tl.RetryPolicy(max_attempts=2)
    async with tl.AsyncSessionManager("memory://", providers=[echo], retry=policy) as m:
        s = await m.create()
        await s.send("one")
        handle = s.native_id
        with pytest.raises(tl.ProviderUnavailableError, match="echo 503") as info:
            await s.send("two")
        assert not info.value.ambiguous
        assert s.native_id is None
        assert handle not in echo.conversations


async def test_refused_request_keeps_server_state(no_sleep: list[float]) -> None:
    """A 401 says the request was turned away: nothing to distrust, nothing written."""
    echo = EchoProvider(faults=[None, tl.AuthenticationError("no", provider="echo")])
    async with tl.AsyncSessionManager("memory://", providers=[echo]) as m:
        s = await m.create()
        await s.send("one")
        version, handle = s.version, s.native_id
        with pytest.raises(tl.AuthenticationError, match=r"^echo: no$"):
            await s.send("two")
        assert (s.version, s.native_id) == (version, handle)


async def test_lost_race_after_ambiguous_failure_reports_the_provider_error(
    tmp_path: Path, no_sleep: list[float]
) -> None:
    """Dropping server state can itself hit a stale version: the caller still sees
    the turn's own error, and the winner stops using the shared server copy."""
    url = f"sqlite:///{tmp_path / 'race.db'}"
    echo = EchoProvider()
    async with (
        tl.AsyncSessionManager(url, providers=[echo], retry=tl.RetryPolicy(1)) as m1,
        tl.AsyncSessionManager(url, providers=[echo]) as m2,
    ):
        s1 = await m1.create()
        await s1.send("seed")
        s2 = await m2.get(s1.id)
        await s2.pause()
        await s2.resume()  # s1 is now stale, both point at the same server copy
        echo.faults = [_timeout()]
        with pytest.raises(tl.ProviderUnavailableError, match="timed out"):
            await s1.send("lost")
        assert (await m2.get(s1.id)).native_id is None


async def test_failed_store_commit_leaves_mirror_and_drops_server_state(tmp_path: Path) -> None:
    async with tl.AsyncSessionManager(f"sqlite:///{tmp_path / 'c.db'}") as m:
        s = await m.create()
        await s.send("first")
        store = m.store
        real = store.commit
        calls = 0

        async def failing_once(*args: Any, **kwargs: Any) -> None:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise tl.StoreError("disk full", session_id=s.id)
            await real(*args, **kwargs)

        store.commit = failing_once  # type: ignore[method-assign]
        with pytest.raises(tl.StoreError, match="disk full"):
            await s.send("not saved")
        assert [x.text for x in (await m.get(s.id)).messages] == ["first", "echo: first"]
        assert s.native_id is None  # the second commit dropped it


def test_failed_commit_does_not_wedge_the_connection(tmp_path: Path) -> None:
    """If COMMIT itself fails, the transaction is rolled back and the store goes on."""
    from threadline.stores import SQLiteStore

    store = SQLiteStore(tmp_path / "w.db")

    class FailingCommit:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db, self.fail = db, True

        def execute(self, sql: str, *args: Any) -> Any:
            if sql == "COMMIT" and self.fail:
                self.fail = False
                raise sqlite3.OperationalError("disk I/O error")
            return self.db.execute(sql, *args)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.db, name)

    with tl.SessionManager(store) as m:
        s = m.create()
        store._db = FailingCommit(store.db)  # type: ignore[assignment]
        with pytest.raises(tl.StoreError, match="disk I/O error"):
            s.send("lost")
        assert s.messages == []
        assert s.send("kept").text == "echo: kept"
        assert len(m.get(s.id).messages) == 2


def test_fork_mode_is_validated(manager: tl.SessionManager) -> None:
    s = manager.create()
    with pytest.raises(tl.ValidationError, match="not 'bogus'"):
        s.fork(mode="bogus")  # type: ignore[typeddict-item]
    assert s.fork(mode="local").mode == "local"
    assert [i.id for i in manager.list()][-1] == s.id


def test_corrupt_row_spares_listing_and_is_cleaned_up(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    with tl.SessionManager(url) as m:
        bad = m.create(ttl=__import__("datetime").timedelta(hours=1))
        good = m.create()
    db = sqlite3.connect(tmp_path / "c.db", isolation_level=None)
    db.execute("UPDATE sessions SET data = '{oops', expires_us = 1 WHERE id = ?", (bad.id,))
    db.close()
    with tl.SessionManager(url) as m:
        assert [i.id for i in m.list()] == [good.id]
        assert m.cleanup_expired() == 1
        with pytest.raises(tl.SessionNotFoundError, match="not found"):
            m.get(bad.id)


async def test_send_inside_own_stream_is_refused_not_deadlocked(
    amanager: tl.AsyncSessionManager,
) -> None:
    s = await amanager.create()
    stream = s.stream("hi")
    async for event in stream:
        with pytest.raises(tl.ValidationError, match="stream"):
            await s.send("inside")
        assert event.type == "text"
        break
    # `break` leaves an async generator open until it is closed.
    with pytest.raises(tl.ValidationError, match="aclose"):
        await s.send("before closing")
    await stream.aclose()  # type: ignore[attr-defined]
    assert (await s.send("after")).text == "echo: after"


def test_send_inside_own_stream_is_refused_sync(manager: tl.SessionManager) -> None:
    s = manager.create()
    for _ in s.stream("hi"):
        with pytest.raises(tl.ValidationError, match="stream"):
            s.send("inside")
        break
    assert s.send("after").text == "echo: after"


def test_dict_parts_and_tools(manager: tl.SessionManager) -> None:
    s = manager.create(tools=[{"name": "x"}])
    assert s.send({"type": "text", "text": "as a dict"}).text == "echo: as a dict"
    assert [p.type for p in s.messages[0].parts] == ["text"]
    with pytest.raises(tl.ValidationError, match="not a message part"):
        s.send({"type": "nonsense"})
    with pytest.raises(tl.ValidationError, match="not a tool definition"):
        s.send("x", tools=[{"description": "no name"}])
    # tools=[] offers none for this turn, even though the session has one.
    assert s.send("/tool x {}", tools=[]).text == "echo: /tool x {}"
    assert s.send("/tool x {}").tool_calls[0].name == "x"


def test_deleted_handle_refuses_writes_without_calling_the_provider() -> None:
    echo = EchoProvider()
    with tl.SessionManager("memory://", providers=[echo]) as m:
        s = m.create()
        s.delete()
        with pytest.raises(tl.SessionNotFoundError, match="not found"):
            s.send("ghost")
        assert echo.calls == 0
        assert echo.conversations == {}


def test_load_reads_only_the_messages_the_record_counts(tmp_path: Path) -> None:
    """A row past message_count (a turn committing between the two reads) is not
    part of the loaded history."""
    url = f"sqlite:///{tmp_path / 'r.db'}"
    with tl.SessionManager(url) as m:
        s = m.create()
        s.send("one")
    db = sqlite3.connect(tmp_path / "r.db", isolation_level=None)
    row = db.execute("SELECT data FROM messages WHERE session_id = ? AND seq = 0", (s.id,))
    db.execute("INSERT INTO messages VALUES (?, 2, ?)", (s.id, row.fetchone()[0]))
    db.close()
    with tl.SessionManager(url) as m:
        loaded = m.get(s.id)
        assert len(loaded.messages) == 2
        loaded.refresh()
        assert len(loaded.messages) == 2


class _RefusingEngine(AsyncEchoEngine):
    async def turn(self, request: TurnRequest) -> TurnResult:
        raise tl.ValidationError("the provider does not take the option 'temperature'")


class RefusingEcho(EchoProvider):
    """Echo whose engine refuses the turn before sending anything."""

    async_engine_class = _RefusingEngine


async def test_a_turn_refused_before_sending_keeps_the_server_side_copy() -> None:
    """A `ValidationError` from the engine means nothing was sent: the session keeps
    using its server-side state instead of re-seeding a new one next turn."""
    echo = RefusingEcho()
    async with tl.AsyncSessionManager("memory://", providers=[echo]) as m:
        s = await m.create()
        native = tl.providers.base.NativeState(provider="echo", handle="echo_conv_1")
        s._record = s._record.model_copy(update={"native": native})
        with pytest.raises(tl.ValidationError, match="temperature"):
            await s.send("hi", temperature=2)
        assert s.native_id == "echo_conv_1"
        assert s.messages == []
