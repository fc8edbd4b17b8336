"""The blocking face is generated from the async one: same behaviour, no thread between.

These tests pin what the generation promises (docs/architecture.md): the sync API
starts no thread and touches no event loop, so it works inside a running loop (as in
Jupyter) and from many threads; both faces give the same results; a closed manager
says so; abandoned streams end quietly; the sync API is documented and typed.
"""

from __future__ import annotations

import asyncio
import inspect
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import threadline as tl


@pytest.fixture
def no_new_threads() -> Iterator[None]:
    """Fail if the code under test started a thread."""
    before = set(threading.enumerate())
    started: list[str] = []
    real_start = threading.Thread.start

    def spy(self: threading.Thread) -> None:
        started.append(self.name)
        real_start(self)

    threading.Thread.start = spy  # type: ignore[method-assign]
    try:
        yield
    finally:
        threading.Thread.start = real_start  # type: ignore[method-assign]
    assert started == []
    assert set(threading.enumerate()) <= before


def _conversation(manager: tl.SessionManager) -> list[tuple[str, str]]:
    s = manager.create(user="u", system="terse")
    s.send("one")
    list(s.stream("two words"))
    cp = s.checkpoint("cp")
    s.send("three")
    s.restore(cp)
    child = s.fork()
    child.send("four")
    again = manager.get(s.id, user="u")
    assert manager.cleanup_expired() == 0
    return [(m.role, m.text) for m in again.messages + child.messages]


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_the_sync_api_starts_no_thread(kind: str, tmp_path: Path, no_new_threads: None) -> None:
    """A whole conversation on the blocking API runs in the caller's thread alone."""
    url = "memory://" if kind == "memory" else f"sqlite:///{tmp_path / 's.db'}"
    with tl.SessionManager(url) as manager:
        texts = _conversation(manager)
    assert texts[:4] == [
        ("user", "one"),
        ("assistant", "echo: one"),
        ("user", "two words"),
        ("assistant", "echo: two words"),
    ]


def test_a_sync_openai_turn_starts_no_thread(no_new_threads: None) -> None:
    """With an ``openai.OpenAI`` client the SDK is called in the caller's thread."""
    sys.path.insert(0, str(Path(__file__).parent.parent / "providers"))
    from openai_fake import FakeOpenAI

    server = FakeOpenAI()
    provider = tl.providers.OpenAIProvider(client=server.client(sync=True))
    with tl.SessionManager("memory://", providers=[provider]) as manager:
        s = manager.create(provider="openai")
        assert s.send("hello").text == "re: hello"
        assert "".join(e.text for e in s.stream("again")) == "re: again"
        assert s.native_id in server.conversations


def test_the_sync_api_works_inside_a_running_event_loop(tmp_path: Path) -> None:
    """Jupyter runs a loop in the main thread; blocking calls from a coroutine work."""

    async def notebook_cell() -> list[str]:
        with tl.SessionManager(f"sqlite:///{tmp_path / 'nb.db'}") as manager:
            s = manager.create()
            s.send("in a cell")
            return [m.text for m in manager.get(s.id).messages]

    assert asyncio.run(notebook_cell()) == ["in a cell", "echo: in a cell"]


def test_eight_threads_share_one_manager(tmp_path: Path) -> None:
    """One sync manager, 8 threads: each on its own session and all on a shared one.
    Nothing is lost, every reply follows its own message."""
    with tl.SessionManager(f"sqlite:///{tmp_path / 't.db'}") as manager:
        shared = manager.create()
        errors: list[BaseException] = []

        def work(n: int) -> None:
            try:
                own = manager.create(user=f"user{n}")
                for i in range(10):
                    own.send(f"{n}-{i}")
                    shared.send(f"shared {n}-{i}")
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        messages = manager.get(shared.id).messages
        assert len(messages) == 160
        for user, reply in zip(messages[::2], messages[1::2], strict=True):
            assert reply.text == f"echo: {user.text}"
        assert sorted(m.text for m in messages[::2]) == sorted(
            f"shared {n}-{i}" for n in range(8) for i in range(10)
        )
        for n in range(8):
            (info,) = manager.list(user=f"user{n}")
            assert info.message_count == 20


async def test_both_faces_give_the_same_results(tmp_path: Path) -> None:
    """The same calls on each face leave the same messages, usage and statuses."""

    def sync_side() -> tuple[Any, ...]:
        with tl.SessionManager(f"sqlite:///{tmp_path / 'a.db'}") as m:
            s = m.create(user="u", system="be brief", mode="local")
            s.send("hello there")
            events = [e.type for e in s.stream("and more")]
            s.pause()
            s.resume()
            fork = s.fork(at=s.checkpoint("x"))
            return (
                [(x.role, x.text) for x in m.get(s.id, user="u").messages],
                s.usage,
                events,
                s.status,
                fork.parent_id == s.id,
                len(m.list(user="u")),
            )

    async def async_side() -> tuple[Any, ...]:
        async with tl.AsyncSessionManager(f"sqlite:///{tmp_path / 'b.db'}") as m:
            s = await m.create(user="u", system="be brief", mode="local")
            await s.send("hello there")
            events = [e.type async for e in s.stream("and more")]
            await s.pause()
            await s.resume()
            fork = await s.fork(at=await s.checkpoint("x"))
            again = await m.get(s.id, user="u")
            return (
                [(x.role, x.text) for x in again.messages],
                s.usage,
                events,
                s.status,
                fork.parent_id == s.id,
                len(await m.list(user="u")),
            )

    assert sync_side() == await async_side()


def test_a_closed_manager_and_its_sessions_say_so(tmp_path: Path) -> None:
    manager = tl.SessionManager(f"sqlite:///{tmp_path / 'c.db'}")
    s = manager.create()
    s.send("before")
    manager.close()
    manager.close()  # twice is fine
    for call in (
        lambda: manager.create(),
        lambda: manager.get(s.id),
        lambda: manager.list(),
        lambda: manager.cleanup_expired(),
        lambda: s.send("after"),
        lambda: list(s.stream("after")),
        lambda: s.checkpoint(),
        lambda: s.pause(),
        lambda: s.refresh(),
        lambda: s.fork(),
        lambda: s.delete(),
    ):
        with pytest.raises(tl.ManagerClosedError, match="session manager is closed"):
            call()
    assert tl.ManagerClosedError.error_type == "manager_closed"
    assert isinstance(tl.ManagerClosedError(), tl.ThreadlineError)


async def test_a_closed_async_manager_says_so() -> None:
    manager = tl.AsyncSessionManager("memory://")
    s = await manager.create()
    await manager.aclose()
    with pytest.raises(tl.ManagerClosedError, match="manager is closed"):
        await s.send("after")
    with pytest.raises(tl.ManagerClosedError, match="manager is closed"):
        await manager.get(s.id)


def test_close_ends_an_abandoned_stream_quietly(tmp_path: Path) -> None:
    """A stream left half-read is ended by close(): no turn is mirrored and nothing
    is printed; the store is consistent when reopened."""
    url = f"sqlite:///{tmp_path / 'a.db'}"
    manager = tl.SessionManager(url)
    s = manager.create()
    events = s.stream("left half way")
    assert next(events).text == "echo:"
    manager.close()
    with pytest.raises(StopIteration):
        next(events)
    with tl.SessionManager(url) as again:
        assert again.get(s.id).messages == []


async def test_aclose_ends_an_abandoned_async_stream() -> None:
    manager = tl.AsyncSessionManager("memory://")
    s = await manager.create()
    events = s.stream("left half way")
    assert (await anext(events)).text == "echo:"
    await manager.aclose()
    with pytest.raises(StopAsyncIteration):
        await anext(events)


def test_an_abandoned_stream_at_exit_prints_nothing(tmp_path: Path) -> None:
    """A script that leaves a stream half-read and never closes its manager exits
    cleanly, with nothing on stderr."""
    code = (
        "import threadline as tl\n"
        f"m = tl.SessionManager('sqlite:///{tmp_path / 'x.db'}')\n"
        "s = m.create()\n"
        "events = s.stream('never finished')\n"
        "print(next(events).text)\n"
        "a = tl.AsyncSessionManager('memory://')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "echo:\n", "")


def test_the_sync_api_is_documented_and_typed() -> None:
    """``help()`` on the blocking API shows real signatures and docstrings."""
    create = inspect.signature(tl.SessionManager.create)
    assert list(create.parameters)[1:] == [
        "provider",
        "model",
        "user",
        "system",
        "metadata",
        "ttl",
        "mode",
        "tools",
        "session_id",
    ]
    assert "Start a session" in (tl.SessionManager.create.__doc__ or "")
    assert "context manager" in (tl.SessionManager.__doc__ or "")
    assert "async" not in (tl.SessionManager.__doc__ or "")
    assert "Async" not in (tl.ConversationSession.send.__doc__ or "")
    assert not inspect.iscoroutinefunction(tl.ConversationSession.send)
    assert inspect.iscoroutinefunction(tl.AsyncConversationSession.send)
    stream = inspect.signature(tl.ConversationSession.stream)
    assert "Iterator" in str(stream.return_annotation)


def test_a_store_of_the_other_face_is_refused() -> None:
    with pytest.raises(tl.ConfigurationError, match="async store"):
        tl.AsyncSessionManager(tl.stores.MemoryStore())  # type: ignore[arg-type]
    with pytest.raises(tl.ConfigurationError, match="store"):
        tl.SessionManager(tl.stores.AsyncMemoryStore())  # type: ignore[arg-type]


def test_generated_files_are_current() -> None:
    """`make generate` has been run: every *_sync.py twin matches its async source."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, str(root / "scripts" / "gen_sync.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


async def test_history_is_read_only_when_needed(tmp_path: Path) -> None:
    """``get()`` reads the record only; a native turn on a resumed session reads no
    history; ``messages`` loads it with one query on first access."""
    url = f"sqlite:///{tmp_path / 'lazy.db'}"
    with tl.SessionManager(url) as m:
        s = m.create()
        for i in range(5):
            s.send(f"m{i}")
    reads: list[tuple[str, int | None]] = []
    with tl.SessionManager(url) as m:
        store = m.store
        real = store.read_messages

        def counting(session_id: str, *, after: int = 0, limit: int | None = None) -> Any:
            reads.append((session_id, limit))
            return real(session_id, after=after, limit=limit)

        store.read_messages = counting  # type: ignore[method-assign]
        resumed = m.get(s.id)
        assert reads == []
        # The echo "server" of this new process lost the conversation: it re-seeds,
        # which needs the history once.
        resumed.send("next")
        assert reads == [(s.id, 10)]
        resumed.send("and next")  # native and current: no read
        assert len(reads) == 1
        assert len(resumed.messages) == 14
        assert len(reads) == 1  # the turns kept the loaded history up to date
        fresh = m.get(s.id)
        assert len(fresh.messages) == 14
        assert len(reads) == 2
    async with tl.AsyncSessionManager(url) as am:
        lazy = await am.get(s.id)
        assert len(lazy.messages) == 14  # SQLite reads inline, even on the async face
        assert len(await lazy.load_messages()) == 14


def test_an_idle_handle_keeps_its_record_packed(tmp_path: Path) -> None:
    """``get()`` hands out a handle that holds the record as its stored JSON until
    first use: about 0.6 KB instead of a parsed record's 4.5 KB. Using it parses once
    and everything reads as before."""
    with tl.SessionManager(f"sqlite:///{tmp_path / 'p.db'}") as m:
        s = m.create(user="u", metadata={"k": "v"})
        s.send("hi")
        idle = m.get(s.id, user="u")
        assert idle._parsed is None and idle._packed is not None
        assert idle.id == s.id and idle._parsed is None  # the id needs no parsing
        assert (idle.user, idle.metadata, idle.version) == ("u", {"k": "v"}, 2)
        assert idle._packed is None and idle._parsed == s._record
        assert idle.send("again").text == "echo: again"
