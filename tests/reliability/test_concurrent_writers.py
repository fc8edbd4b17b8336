"""Writers racing on one session with refresh-and-retry lose and double nothing.

Every writer reads the session before any of them starts, so their first writes
collide for certain; after that the interleaving is up to the scheduler. A writer that
gets `ConcurrencyError` calls ``refresh()`` and sends the same input again. At the end
each writer's turns are in the session exactly once, in its own order, each user
message followed by its own reply, and the message count is turns x 2.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import _children
import pytest
from _knobs import env_int

import threadline as tl

TURNS = env_int("THREADLINE_RELIABILITY_TURNS", 60)
TIMEOUT = 120.0

_CONTEXT = multiprocessing.get_context("forkserver")


def check_turns(messages: list[tl.Message], writers: int, turns: int) -> None:
    """Every writer's turns once, in order, paired with their replies."""
    assert len(messages) == writers * turns * 2
    assert [m.role for m in messages] == ["user", "assistant"] * (writers * turns)
    sent = [m.text for m in messages[0::2]]
    assert [m.text for m in messages[1::2]] == [f"echo: {t}" for t in sent]
    for w in range(writers):
        assert [t for t in sent if t.split()[0] == f"w{w}"] == [f"w{w} {n}" for n in range(turns)]
    assert len({m.id for m in messages}) == len(messages)


@pytest.mark.parametrize("mode", ["native", "local"])
def test_two_processes_on_one_sqlite_session(tmp_path: Path, mode: str) -> None:
    """Two processes, each with its own manager on the same file, send TURNS turns
    each to one session."""
    db = tmp_path / "shared.db"
    url = f"sqlite:///{db}"
    with tl.SessionManager(url) as manager:
        session_id = manager.create(mode=mode).id
    barrier = _CONTEXT.Barrier(2)
    pipes = [_CONTEXT.Pipe(duplex=False) for _ in range(2)]
    procs = [
        _CONTEXT.Process(
            target=_children.run_turns,
            args=(url, session_id, w, TURNS, barrier, pipes[w][1]),
            daemon=True,
        )
        for w in range(2)
    ]
    try:
        for proc in procs:
            proc.start()
        for _, sender in pipes:
            sender.close()
        conflicts = []
        for w, (receiver, _) in enumerate(pipes):
            assert receiver.poll(TIMEOUT), f"writer {w} did not finish"
            conflicts.append(receiver.recv())
        for proc in procs:
            proc.join(TIMEOUT)
            assert proc.exitcode == 0
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.kill()
                proc.join(TIMEOUT)
        for receiver, _ in pipes:
            receiver.close()
    assert sum(conflicts) >= 1  # the first writes collided

    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        (count,) = con.execute("SELECT message_count FROM sessions").fetchone()
        seqs = [r[0] for r in con.execute("SELECT seq FROM messages ORDER BY seq")]
    finally:
        con.close()
    assert count == len(seqs) == 2 * TURNS * 2
    assert seqs == list(range(count))
    with tl.SessionManager(url) as manager:
        session = manager.get(session_id)
        check_turns(session.messages, writers=2, turns=TURNS)
        assert session.send("after").text == "echo: after"
        assert session.mode == mode


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Switch threads often, so that their turns interleave."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def run_threads(target: Callable[[int], int], count: int) -> list[int]:
    """``target(i)`` in ``count`` threads started together; their results."""
    results = [0] * count
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def work(i: int) -> None:
        try:
            barrier.wait(TIMEOUT)
            results[i] = target(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads)
    if errors:
        raise errors[0]
    return results


@pytest.mark.usefixtures("fast_switching")
@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_threads_with_their_own_handles(tmp_path: Path, store: str) -> None:
    """Four threads of one process, each with its own handle on one session of one
    manager (memory or SQLite)."""
    writers = 4
    url = "memory://" if store == "memory" else f"sqlite:///{tmp_path / 'threads.db'}"
    with tl.SessionManager(url) as manager:
        session_id = manager.create().id
        handles = [manager.get(session_id) for _ in range(writers)]

        def writer(w: int) -> int:
            return sum(
                _children.send_retrying(handles[w], f"w{w} {n}", streamed=n % 3 == 2)
                for n in range(TURNS)
            )

        conflicts = run_threads(writer, writers)
        assert sum(conflicts) >= 1  # the first writes collided
        check_turns(manager.get(session_id).messages, writers, TURNS)


@pytest.mark.usefixtures("fast_switching")
def test_threads_sharing_one_handle_never_conflict() -> None:
    """One handle shared by four threads: its turns run one at a time, so none is
    refused and none is lost."""
    writers = 4
    with tl.SessionManager("memory://") as manager:
        session = manager.create()

        def writer(w: int) -> int:
            return sum(
                _children.send_retrying(session, f"w{w} {n}", streamed=n % 3 == 2)
                for n in range(TURNS)
            )

        assert run_threads(writer, writers) == [0] * writers
        assert session.version == 1 + writers * TURNS
        check_turns(manager.get(session.id).messages, writers, TURNS)


@pytest.mark.parametrize("store", ["memory", "sqlite"])
async def test_async_tasks_with_their_own_handles(tmp_path: Path, store: str) -> None:
    """The async face: four tasks, each with its own handle, refresh and retry."""
    writers = 4
    url = "memory://" if store == "memory" else f"sqlite:///{tmp_path / 'tasks.db'}"
    async with tl.AsyncSessionManager(url) as manager:
        session_id = (await manager.create()).id
        handles = [await manager.get(session_id) for _ in range(writers)]

        async def writer(w: int) -> int:
            conflicts = 0
            for n in range(TURNS):
                text = f"w{w} {n}"
                while True:
                    try:
                        if n % 3 == 2:
                            done = [e async for e in handles[w].stream(text) if e.type == "done"]
                            reply = done[0].message
                        else:
                            reply = await handles[w].send(text)
                        break
                    except tl.ConcurrencyError:
                        conflicts += 1
                        await handles[w].refresh()
                assert reply is not None and reply.text == f"echo: {text}"
                await asyncio.sleep(0)  # let the others in between turns
            return conflicts

        conflicts = await asyncio.gather(*(writer(w) for w in range(writers)))
        assert sum(conflicts) >= 1
        check_turns(await (await manager.get(session_id)).load_messages(), writers, TURNS)
