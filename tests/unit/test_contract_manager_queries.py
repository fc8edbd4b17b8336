"""The manager's queries and sweeps, as documented (async face, both stores).

`list()` pages newest first, 50 to a page by default, from 1 to 1000 per call, and
filters by provider; its arguments are checked with messages naming them. `delete()`
removes a session with its server-side state, and a damaged one by id (its owner
still checked). `cleanup_expired()` sweeps in batches of 500, reporting
``progress(done, found)``, and deletes server-side state. The constructor names the
argument it refuses, and a manager's repr shows its store kind and whether it is open.
Spans carry the documented ``threadline.store.*`` events.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import threadline as tl
from threadline._records import SessionRecord
from threadline.stores import AsyncMemoryStore, MemoryStore
from threadline.testing import EchoProvider, TelemetryCapture, capture_telemetry

TTL = timedelta(minutes=1)


class OtherProvider(EchoProvider):
    """A second offline provider, to filter listings by provider."""

    name = "other"


@dataclass
class Traced:
    manager: tl.AsyncSessionManager
    telemetry: TelemetryCapture
    echo: EchoProvider

    def events(self, span_name: str) -> list[str]:
        return [e.name for e in self.telemetry.span(span_name).events]


@pytest.fixture
async def traced(store_url: str) -> AsyncIterator[Traced]:
    telemetry = capture_telemetry()
    echo = EchoProvider()
    async with tl.AsyncSessionManager(
        store_url, providers=[echo, OtherProvider()], **telemetry.manager_options
    ) as manager:
        yield Traced(manager, telemetry, echo)
    telemetry.shutdown()


async def created(
    manager: tl.AsyncSessionManager, count: int, move_clock: Any, **options: Any
) -> list[str]:
    """Ids of ``count`` new sessions, oldest first, one second apart."""
    ids = []
    for _ in range(count):
        move_clock(timedelta(seconds=1))
        ids.append((await manager.create(**options)).id)
    return ids


async def all_pages(manager: tl.AsyncSessionManager, **options: Any) -> list[list[str]]:
    pages = []
    cursor = None
    while True:
        page = await manager.list(cursor=cursor, **options)
        pages.append([i.id for i in page])
        cursor = page.next_cursor
        if cursor is None:
            return pages


# -- __init__ and _store -------------------------------------------------------------------


async def test_the_constructor_names_the_argument_it_refuses() -> None:
    with pytest.raises(TypeError, match=r"^default_ttl must be a datetime\.timedelta, not int$"):
        tl.AsyncSessionManager("memory://", default_ttl=60)  # type: ignore[arg-type]
    with pytest.raises(tl.ValidationError, match=r"^default_ttl must be positive$"):
        tl.AsyncSessionManager("memory://", default_ttl=timedelta(0))
    with pytest.raises(TypeError, match=r"^retry must be a tl\.RetryPolicy, not dict$"):
        tl.AsyncSessionManager("memory://", retry={"max_attempts": 1})  # type: ignore[arg-type]


async def test_default_ttl_applies_to_sessions_created_without_one() -> None:
    async with tl.AsyncSessionManager("memory://", default_ttl=TTL) as manager:
        assert manager.default_ttl == TTL
        session = await manager.create()
        assert session.expires_at == session.created_at + TTL


async def test_a_store_of_the_other_face_or_no_store_is_refused_naming_its_type() -> None:
    blocking = MemoryStore()
    with pytest.raises(
        tl.ConfigurationError, match=r"needs a store URL or an async store .*, not MemoryStore$"
    ):
        tl.AsyncSessionManager(blocking)  # type: ignore[arg-type]
    with pytest.raises(tl.ConfigurationError, match=r", not dict$"):
        tl.AsyncSessionManager({"url": "memory://"})  # type: ignore[arg-type]
    store = AsyncMemoryStore()
    async with tl.AsyncSessionManager(store) as manager:
        assert manager.store is store


# -- __repr__ ------------------------------------------------------------------------------


async def test_the_repr_shows_the_class_the_store_kind_and_whether_it_is_open(
    store_url: str,
) -> None:
    kind = store_url.split(":", 1)[0]
    manager = tl.AsyncSessionManager(store_url)
    assert repr(manager) == f"<AsyncSessionManager store={kind} open>"
    await manager.aclose()
    assert repr(manager) == f"<AsyncSessionManager store={kind} closed>"


# -- list: arguments -----------------------------------------------------------------------


async def test_list_refuses_a_limit_that_is_not_an_int(amanager: tl.AsyncSessionManager) -> None:
    for limit, kind in ((True, "bool"), ("5", "str"), (2.0, "float")):
        with pytest.raises(TypeError, match=rf"^limit must be an int, not {kind}$"):
            await amanager.list(limit=limit)  # type: ignore[arg-type]


async def test_list_takes_limits_from_1_to_1000_only(
    amanager: tl.AsyncSessionManager, move_clock: Any
) -> None:
    ids = await created(amanager, 2, move_clock)
    for limit in (0, -1, 1001):
        with pytest.raises(tl.ValidationError, match=r"^limit must be between 1 and 1000$"):
            await amanager.list(limit=limit)
    one = await amanager.list(limit=1)
    assert [i.id for i in one] == [ids[1]] and one.next_cursor is not None
    everything = await amanager.list(limit=1000)
    assert [i.id for i in everything] == ids[::-1] and everything.next_cursor is None


async def test_list_names_the_argument_it_refuses(amanager: tl.AsyncSessionManager) -> None:
    with pytest.raises(TypeError, match=r"^provider must be a str or None, not int$"):
        await amanager.list(provider=5)  # type: ignore[arg-type]
    with pytest.raises(tl.ValidationError, match=r"^provider is not valid Unicode text"):
        await amanager.list(provider="\ud800")
    with pytest.raises(tl.ValidationError, match=r"^order_by must be 'created' or 'updated'$"):
        await amanager.list(order_by="newest")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^status must be a str, not int$"):
        await amanager.list(status=1)  # type: ignore[arg-type]
    with pytest.raises(tl.ValidationError, match=r"^unknown status 'bogus'$"):
        await amanager.list(status="bogus")
    with pytest.raises(tl.ValidationError, match=r"^not a list cursor: 'nope'$"):
        await amanager.list(cursor="nope")


# -- list: pages and filters ---------------------------------------------------------------


async def test_list_pages_newest_first_by_the_limit_given(
    amanager: tl.AsyncSessionManager, move_clock: Any
) -> None:
    ids = await created(amanager, 5, move_clock)
    newest_first = ids[::-1]
    assert await all_pages(amanager, limit=2) == [
        newest_first[0:2],
        newest_first[2:4],
        newest_first[4:],
    ]
    assert await all_pages(amanager, limit=1) == [[i] for i in newest_first]
    assert await all_pages(amanager, limit=5) == [newest_first]


async def test_list_returns_50_a_page_by_default(
    amanager: tl.AsyncSessionManager, move_clock: Any
) -> None:
    ids = await created(amanager, 51, move_clock)
    first = await amanager.list()
    assert [i.id for i in first] == ids[:0:-1]
    assert first.next_cursor is not None
    rest = await amanager.list(cursor=first.next_cursor)
    assert [i.id for i in rest] == [ids[0]] and rest.next_cursor is None


async def test_list_filters_by_provider(traced: Traced, move_clock: Any) -> None:
    manager = traced.manager
    echo = await created(manager, 2, move_clock)
    other = await created(manager, 2, move_clock, provider="other")
    assert [i.id for i in await manager.list(provider="other")] == other[::-1]
    assert [i.id for i in await manager.list(provider="echo")] == echo[::-1]
    assert await manager.list(provider="nobody") == []
    assert [i.provider for i in await manager.list()] == ["other", "other", "echo", "echo"]


async def test_list_records_one_span_with_a_store_list_event(traced: Traced) -> None:
    await traced.manager.create()
    assert len(await traced.manager.list()) == 1
    assert traced.events("threadline.list") == ["threadline.store.list"]


# -- delete --------------------------------------------------------------------------------


async def test_delete_refuses_a_bad_session_id_naming_it(amanager: tl.AsyncSessionManager) -> None:
    with pytest.raises(tl.ValidationError, match=r"^session id 'bad id' may only hold letters"):
        await amanager.delete("bad id")
    with pytest.raises(tl.ValidationError, match=r"^session id must be a string, not int$"):
        await amanager.delete(5)  # type: ignore[arg-type]


async def test_delete_removes_the_session_and_its_server_side_state(traced: Traced) -> None:
    manager = traced.manager
    gone = await manager.create(user="ann")
    kept = await manager.create(user="ann")
    await gone.send("hi")
    await kept.send("hi")
    handle = gone.native_id
    assert handle in traced.echo.conversations
    traced.telemetry.clear()
    await manager.delete(gone.id, user="ann")
    assert traced.events("threadline.delete") == ["threadline.store.get", "threadline.store.delete"]
    [server_call] = traced.telemetry.spans("delete_conversation")
    assert server_call.attributes is not None
    assert server_call.attributes["gen_ai.conversation.id"] == gone.id
    assert handle not in traced.echo.conversations
    assert kept.native_id in traced.echo.conversations
    assert [i.id for i in await manager.list()] == [kept.id]
    with pytest.raises(tl.SessionNotFoundError, match="not found") as caught:
        await manager.delete(gone.id)
    assert caught.value.session_id == gone.id


async def test_delete_removes_a_damaged_sqlite_record_by_id_and_logs_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "s.db"
    async with tl.AsyncSessionManager(f"sqlite:///{path}") as manager:
        bad = await manager.create(user="ann")
        good = await manager.create(user="ann")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE sessions SET data = '{oops' WHERE id = ?", (bad.id,))
    db.close()
    async with tl.AsyncSessionManager(f"sqlite:///{path}") as manager:
        with pytest.raises(tl.StoreError) as unreadable:
            await manager.get(bad.id)
        assert unreadable.value.session_id == bad.id
        # Another user's call still finds nothing, and removes nothing.
        with pytest.raises(tl.SessionNotFoundError, match="not found"):
            await manager.delete(bad.id, user="bob")
        with caplog.at_level(logging.WARNING, logger="threadline"):
            await manager.delete(bad.id, user="ann")
        assert [r.getMessage() for r in caplog.records] == [
            f"deleting session {bad.id}, whose record is damaged"
        ]
        with pytest.raises(tl.SessionNotFoundError, match="not found"):
            await manager.get(bad.id)
        with pytest.raises(tl.SessionNotFoundError, match="not found") as caught:
            await manager.delete(bad.id)
        assert caught.value.session_id == bad.id
        assert [i.id for i in await manager.list(user="ann")] == [good.id]
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT id FROM sessions").fetchall()
    db.close()
    assert rows == [(good.id,)]


class UnreadableStore(AsyncMemoryStore):
    """A store (see docs/stores.md, "Your own store") that reads a record before it
    checks the owner: a damaged record fails with a `StoreError` for any caller.
    ``outage`` makes every read fail without naming a session (unreachable)."""

    def __init__(self) -> None:
        super().__init__()
        self.damaged: set[str] = set()
        self.outage = False

    async def get(self, session_id: str, *, user: str | None, now: datetime) -> SessionRecord:
        if self.outage:
            raise tl.StoreError("the store is unreachable")
        if session_id in self.damaged:
            raise tl.StoreError(f"session {session_id!r} is damaged", session_id=session_id)
        return await super().get(session_id, user=user, now=now)


async def test_a_damaged_record_is_deleted_only_for_its_owner() -> None:
    store = UnreadableStore()
    async with tl.AsyncSessionManager(store) as manager:
        session = await manager.create(user="ann")
        store.damaged.add(session.id)
        with pytest.raises(tl.SessionNotFoundError, match="not found") as caught:
            await manager.delete(session.id, user="bob")
        assert caught.value.session_id == session.id
        store.damaged.clear()
        assert (await manager.get(session.id, user="ann")).id == session.id  # still there
        store.damaged.add(session.id)
        await manager.delete(session.id, user="ann")
        store.damaged.clear()
        with pytest.raises(tl.SessionNotFoundError, match="not found"):
            await manager.get(session.id)


async def test_a_store_error_that_names_no_session_fails_the_delete_and_removes_nothing() -> None:
    store = UnreadableStore()
    async with tl.AsyncSessionManager(store) as manager:
        session = await manager.create()
        store.outage = True
        with pytest.raises(tl.StoreError, match="unreachable") as caught:
            await manager.delete(session.id)
        assert caught.value.session_id is None
        store.outage = False
        assert (await manager.get(session.id)).id == session.id


# -- cleanup_expired -----------------------------------------------------------------------


async def test_cleanup_removes_expired_sessions_and_their_server_side_state(
    traced: Traced, move_clock: Any
) -> None:
    manager = traced.manager
    live = await manager.create()
    await live.send("hi")
    talked = []
    for _ in range(2):
        session = await manager.create(ttl=TTL)
        await session.send("hi")
        talked.append(session)
    silent = await manager.create(ttl=TTL)
    handles = {s.native_id: s.id for s in talked}
    move_clock(TTL * 2)
    assert {i.id for i in await manager.list(status="expired")} == {s.id for s in talked} | {
        silent.id
    }
    traced.telemetry.clear()
    reports: list[tuple[int, int]] = []
    assert await manager.cleanup_expired(progress=lambda *a: reports.append(a)) == 3
    # The store batch first (the session without server-side state is then done),
    # then one report per server-side delete.
    assert reports == [(1, 3), (2, 3), (3, 3)]
    assert set(traced.echo.conversations) == {live.native_id}
    span = traced.telemetry.span("threadline.cleanup_expired")
    assert span.attributes is not None
    assert span.attributes["threadline.sessions.removed"] == 3
    assert [e.name for e in span.events] == ["threadline.store.delete"]
    calls = traced.telemetry.spans("delete_conversation")
    assert sorted(str((c.attributes or {}).get("gen_ai.conversation.id")) for c in calls) == sorted(
        handles.values()
    )
    assert all(c.parent is not None and c.parent.span_id == span.context.span_id for c in calls)
    assert await manager.list(status="expired") == []
    assert [i.id for i in await manager.list()] == [live.id]
    assert await manager.cleanup_expired() == 0


async def test_cleanup_counts_across_batches_of_500(move_clock: Any) -> None:
    async with tl.AsyncSessionManager("memory://") as manager:
        for _ in range(501):
            await manager.create(ttl=TTL)
        kept = await manager.create()
        move_clock(TTL * 2)
        reports: list[tuple[int, int]] = []
        assert await manager.cleanup_expired(progress=lambda *a: reports.append(a)) == 501
        assert reports == [(500, 500), (501, 501)]
        assert [i.id for i in await manager.list()] == [kept.id]
        assert await manager.list(status="expired") == []
