"""The store contract under concurrency, on every backend: nothing lost, nothing doubled.

Writers are separate processes (forked from a clean server process), each with its own
store object on the same data, as a team's workers are. The memory store lives in one
process, so for it the writers are threads sharing the one store object. Every wait
is bounded.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
import threading
import time
from pathlib import Path
from typing import Any

import _workers
import pytest
from _backends import Backend, make_store, recorded_migrations

from threadline._records import SessionRecord

WRITERS = 3
TURNS = 20
TIMEOUT = 120

# Children fork from a server process that imported the stores once (a clean process:
# no event loop, no open connections), instead of each importing them anew.
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(
    ["_workers", "threadline.stores._postgres_async", "threadline.stores._redis_async"]
)


def run_in_parallel(backend: Backend, fn: Any, argsets: list[tuple[Any, ...]]) -> list[Any]:
    """``fn(*args)`` for each argset at once: in processes, or threads for memory."""
    if backend.name != "memory":
        with _CONTEXT.Pool(len(argsets)) as pool:
            return pool.starmap_async(fn, argsets).get(TIMEOUT)
    results: list[Any] = [None] * len(argsets)
    barrier = threading.Barrier(len(argsets))

    def work(i: int, args: tuple[Any, ...]) -> None:
        barrier.wait(TIMEOUT)
        results[i] = fn(*args)

    threads = [threading.Thread(target=work, args=(i, a)) for i, a in enumerate(argsets)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, so that their turns interleave
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT)
    finally:
        sys.setswitchinterval(interval)
    assert not any(t.is_alive() for t in threads)
    return results


async def test_writers_on_one_session_lose_and_double_nothing(store: Any, backend: Backend) -> None:
    """Each writer commits TURNS pairs to the same session, re-reading on conflict:
    every pair lands exactly once, each writer's pairs in its own order."""
    await store.create(SessionRecord(id="ses_shared", provider="echo", model="echo-1"))
    if backend.name == "memory":

        def writer(writer_id: int) -> int:
            return asyncio.run(_workers.append_turns(store, "ses_shared", writer_id, TURNS))

        conflicts = run_in_parallel(backend, writer, [(w,) for w in range(WRITERS)])
    else:
        start = time.time() + 0.5
        argsets = [
            (backend.name, backend.url, "ses_shared", w, TURNS, start) for w in range(WRITERS)
        ]
        conflicts = run_in_parallel(backend, _workers.append_turns_in_process, argsets)
    record = await store.get("ses_shared", user=None, now=_workers.NOW)
    messages = await store.read_messages("ses_shared")
    assert record.version == 1 + WRITERS * TURNS
    assert record.message_count == len(messages) == 2 * WRITERS * TURNS
    assert len({m.id for m in messages}) == len(messages)
    for w in range(WRITERS):
        mine = [m.text for m in messages if m.text.startswith(f"w{w} ")]
        expected = [x for t in range(TURNS) for x in (f"w{w} t{t}", f"w{w} t{t} reply")]
        assert mine == expected
    # Pairs are never split by another writer's commit.
    for user, reply in zip(messages[::2], messages[1::2], strict=True):
        assert reply.text == user.text + " reply"
    assert all(c >= 0 for c in conflicts)


async def test_writers_on_their_own_sessions_never_conflict(store: Any, backend: Backend) -> None:
    names = [f"ses_own_{w}" for w in range(WRITERS)]
    for name in names:
        await store.create(SessionRecord(id=name, provider="echo", model="echo-1"))
    if backend.name == "memory":

        def writer(name: str, writer_id: int) -> int:
            return asyncio.run(_workers.append_turns(store, name, writer_id, TURNS))

        conflicts = run_in_parallel(backend, writer, [(n, w) for w, n in enumerate(names)])
    else:
        start = time.time() + 0.5
        argsets = [(backend.name, backend.url, n, w, TURNS, start) for w, n in enumerate(names)]
        conflicts = run_in_parallel(backend, _workers.append_turns_in_process, argsets)
    assert conflicts == [0] * WRITERS
    for name in names:
        assert len(await store.read_messages(name)) == 2 * TURNS


@pytest.fixture
def fresh_data(durable_backend: Backend, request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """A backend URL naming data that no store has opened yet: a new SQLite file, a
    new Postgres DATABASE (not only a schema), a new Redis key prefix."""
    if durable_backend.name == "sqlite":
        yield Backend("sqlite", f"sqlite:///{tmp_path / 'first.db'}")
    elif durable_backend.name == "postgres":
        server = request.getfixturevalue("postgres_server")
        with server.fresh_database() as url:
            yield Backend("postgres", url)
    else:
        server = request.getfixturevalue("redis_server")
        with server.fresh_prefix() as prefix:
            yield Backend("redis", f"{server.url}?key_prefix={prefix}&durability_check=off")


def test_six_processes_opening_a_fresh_database_migrate_it_exactly_once(
    fresh_data: Backend,
) -> None:
    argsets = [(fresh_data.name, fresh_data.url, w) for w in range(6)]
    applied = run_in_parallel(fresh_data, _workers.open_fresh_store, argsets)
    recorded = recorded_migrations(fresh_data.name, fresh_data.url)
    assert recorded and len(recorded) == len(set(recorded))
    assert recorded[0] == "m001_initial"
    if fresh_data.name != "sqlite":  # these stores say which migrations they applied
        flat = [name for names in applied for name in names]
        assert sorted(flat) == sorted(recorded)  # each by exactly one process

    async def count() -> int:
        store = make_store(fresh_data.name, fresh_data.url)
        try:
            found = [
                await store.get(f"ses_first_open_{w}", user=None, now=_workers.NOW)
                for w in range(6)
            ]
            return len(found)
        finally:
            await store.close()

    assert asyncio.run(count()) == 6
