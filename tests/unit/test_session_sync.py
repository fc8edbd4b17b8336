"""The blocking API: every public method, and its use where a loop already runs."""

from __future__ import annotations

import asyncio
import signal
import threading
from pathlib import Path

import pytest

import threadline as tl


def test_every_method_sync(manager: tl.SessionManager) -> None:
    """One walk through the whole blocking surface, checking values at each step."""
    s = manager.create(provider="echo", user="alice", system="Be terse.", metadata={"t": "1"})
    assert isinstance(s, tl.ConversationSession)
    assert (s.user, s.provider, s.model, s.mode) == ("alice", "echo", "echo-1", "native")
    assert (s.system, s.metadata, s.status) == ("Be terse.", {"t": "1"}, tl.SessionStatus.ACTIVE)

    assert s.send("Hello").text == "echo: Hello"
    events = list(s.stream("And then?"))
    assert "".join(e.text for e in events) == "echo: And then?"
    assert events[-1].type == "done" and events[-1].message == s.messages[-1]
    assert [m.role for m in s.messages] == ["user", "assistant"] * 2
    assert s.usage.output_tokens == 2 + 3
    assert s.native_id is not None and s.version == 3

    cp = s.checkpoint("before-risky")
    assert s.checkpoints == [cp]
    s.send("risky")
    s.restore(cp)
    assert len(s.messages) == 4

    child = s.fork()
    assert isinstance(child, tl.ConversationSession)
    assert child.parent_id == s.id and child.messages == s.messages

    for op in ("pause", "resume", "complete", "archive", "reactivate", "cancel"):
        getattr(s, op)()
    assert s.status is tl.SessionStatus.CANCELLED
    other = manager.create()
    other.fail("gave up")
    assert other.status is tl.SessionStatus.FAILED

    assert manager.get(s.id, user="alice").messages == s.messages
    listed = manager.list(user="alice")
    assert [i.id for i in listed] == [child.id, s.id]
    assert listed.next_cursor is None

    data = s.export()
    copy = manager.import_session(data, user="bob")
    assert copy.messages == s.messages and copy.user == "bob"

    s.refresh()
    assert s.status is tl.SessionStatus.CANCELLED
    s.delete()
    with pytest.raises(tl.SessionNotFoundError, match="not found"):
        manager.get(s.id)
    manager.delete(child.id)
    assert manager.cleanup_expired() == 0
    assert "ConversationSession" in repr(copy) and "<div" in copy._repr_html_()


def test_restart_persistence(tmp_path: Path) -> None:
    """A session written by one manager is read back, whole, by a new one."""
    url = f"sqlite:///{tmp_path / 'persist.db'}"
    with tl.SessionManager(url) as m:
        s = m.create(user="alice", system="sys", metadata={"n": 1})
        s.send("remember this")
        cp = s.checkpoint("cp")
        s.pause()
        session_id, before = s.id, s.messages
    with tl.SessionManager(url) as m:
        again = m.get(session_id, user="alice")
        assert again.messages == before
        assert (again.system, again.metadata, again.status) == ("sys", {"n": 1}, "paused")
        assert again.checkpoints == [cp]
        assert again.usage.output_tokens == 3
        again.resume()
        # The echo "server" of the first process is gone: the turn re-seeds and works.
        assert again.send("and now?").text == "echo: and now?"
        assert len(again.messages) == 4


def test_sync_api_inside_a_running_loop() -> None:
    """Jupyter runs an event loop in the calling thread; the blocking API still works."""

    async def notebook_cell() -> list[str]:
        with tl.SessionManager("memory://") as m:
            s = m.create()
            s.send("from a cell")
            return [e.text for e in s.stream("streamed") if e.type == "text"]

    assert asyncio.run(notebook_cell()) == ["echo:", " streamed"]


def test_manager_close_stops_its_thread() -> None:
    before = threading.active_count()
    m = tl.SessionManager("memory://")
    m.create().send("x")
    m.close()
    m.close()  # twice is fine
    assert threading.active_count() <= before


def test_breaking_out_of_a_stream_releases_the_session() -> None:
    with tl.SessionManager("memory://") as m:
        s = m.create()
        for event in s.stream("one two three"):
            assert event.text == "echo:"
            break
        assert s.messages == []
        assert s.send("next").text == "echo: next"


def test_bad_store_url_is_a_configuration_error(tmp_path: Path) -> None:
    for url, complaint in [
        ("postgresq://x", "unknown store scheme 'postgresq'"),
        ("nothing", "needs a scheme"),
        ("sqlite://", "names no file"),
        ("sqlite:///x.db?bogus=1", r"unknown SQLite store option\(s\): bogus"),
    ]:
        with pytest.raises(tl.ConfigurationError, match=complaint):
            tl.SessionManager(url)
    with pytest.raises(tl.ConfigurationError, match="synchronous must be one of"):
        tl.SessionManager(f"sqlite:///{tmp_path / 'a.db'}?synchronous=SOMETIMES")


def test_default_store_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADLINE_STORE", f"sqlite:///{tmp_path / 'env.db'}")
    with tl.SessionManager() as m:
        m.create().send("x")
        assert m.store.kind == "sqlite"
    assert (tmp_path / "env.db").exists()
    monkeypatch.delenv("THREADLINE_STORE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    from threadline.stores import default_store_url

    assert default_store_url() == f"sqlite:///{tmp_path / 'xdg' / 'threadline' / 'sessions.db'}"


def test_interrupting_a_stream_mid_step_releases_the_session() -> None:
    """Ctrl-C while the provider is producing the next event: the turn is abandoned,
    the stream closes cleanly and the session takes the next turn."""
    import time

    from threadline.testing import EchoEngine

    inside = threading.Event()

    class _SlowEngine(EchoEngine):
        def stream(self, request):  # type: ignore[no-untyped-def]
            for item in super().stream(request):
                if isinstance(item, tl.StreamEvent) and item.text == " two":
                    inside.set()
                    time.sleep(30)  # interrupted below, never waited out
                yield item

    class SlowEcho(tl.providers.EchoProvider):
        sync_engine_class = _SlowEngine

    with tl.SessionManager("memory://", providers=[SlowEcho()]) as m:
        s = m.create()
        events = s.stream("one two")
        assert next(events).text == "echo:"
        assert next(events).text == " one"
        # A real SIGINT once the next step is in flight (the engine says when).
        main = threading.get_ident()

        def interrupt() -> None:
            inside.wait(30)
            signal.pthread_kill(main, signal.SIGINT)

        killer = threading.Thread(target=interrupt)
        killer.start()
        with pytest.raises(KeyboardInterrupt):
            next(events)
        killer.join()
        events.close()
        assert s.messages == []
        assert s.send("again").text == "echo: again"
