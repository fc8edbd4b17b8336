"""End to end through `AsyncSessionManager`, the same on every store.

A few whole journeys (create, send, get, fork, checkpoint and restore, list, delete,
cleanup) on a store instance of each backend, with the echo provider, to show that
the manager needs nothing of a store beyond the protocol.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from _backends import Backend

import threadline as tl


def texts(messages: list[tl.Message]) -> list[str]:
    return [m.text for m in messages]


async def test_a_conversation_round_trip(store: Any) -> None:
    async with tl.AsyncSessionManager(store=store) as manager:
        session = await manager.create(user="ann", metadata={"topic": "maps"})
        await session.send("one")
        cp = await session.checkpoint("after-one")
        await session.send("two")
        again = await manager.get(session.id, user="ann")
        assert texts(await again.load_messages()) == ["one", "echo: one", "two", "echo: two"]
        assert again.version == session.version and again.metadata == {"topic": "maps"}

        child = await again.fork(at=cp)
        assert texts(await child.load_messages()) == ["one", "echo: one"]
        assert child.parent_id == session.id

        await again.restore("after-one")
        await again.send("three")
        reread = await manager.get(session.id, user="ann")
        assert texts(await reread.load_messages()) == ["one", "echo: one", "three", "echo: three"]

        listed = await manager.list(user="ann")
        assert [i.id for i in listed] == [child.id, session.id]
        assert [i.message_count for i in listed] == [2, 4]
        assert await manager.list(user="bob") == []
        with pytest.raises(tl.SessionNotFoundError, match=f"^session '{session.id}' not found$"):
            await manager.get(session.id, user="bob")

        await child.delete()
        assert [i.id for i in await manager.list()] == [session.id]


async def test_a_stale_session_object_gets_a_conflict(store: Any) -> None:
    async with tl.AsyncSessionManager(store=store) as manager:
        first = await manager.create()
        second = await manager.get(first.id)
        await first.send("first writer")
        with pytest.raises(
            tl.ConcurrencyError, match=f"^session '{first.id}' changed since version"
        ):
            await second.send("second writer")
        await second.refresh()
        await second.send("after refresh")
        final = await manager.get(first.id)
        assert texts(await final.load_messages()) == [
            "first writer",
            "echo: first writer",
            "after refresh",
            "echo: after refresh",
        ]


async def test_expired_sessions_are_refused_then_cleaned_up(store: Any, move_clock: Any) -> None:
    async with tl.AsyncSessionManager(store=store) as manager:
        short = await manager.create(ttl=timedelta(minutes=5))
        await short.send("soon gone")
        kept = await manager.create()
        move_clock(timedelta(minutes=6))
        with pytest.raises(tl.SessionExpiredError, match=f"^session '{short.id}' has expired$"):
            await manager.get(short.id)
        assert [i.id for i in await manager.list(status="expired")] == [short.id]
        assert await manager.cleanup_expired() == 1
        with pytest.raises(tl.SessionNotFoundError, match=f"^session '{short.id}' not found$"):
            await manager.get(short.id)
        assert [i.id for i in await manager.list()] == [kept.id]


async def test_a_reopened_store_continues_the_conversation(durable_backend: Backend) -> None:
    async with tl.AsyncSessionManager(store=durable_backend.open()) as manager:
        session = await manager.create(user="ann")
        await session.send("before")
    async with tl.AsyncSessionManager(store=durable_backend.open()) as manager:
        again = await manager.get(session.id, user="ann")
        await again.send("after")
        assert texts(await again.load_messages()) == [
            "before",
            "echo: before",
            "after",
            "echo: after",
        ]
