"""A fuzz of the public API: bad input gets a typed error and changes nothing.

Each example builds a small world on ``memory://`` or a SQLite file (sessions in every
status: with history and repeated checkpoint labels, waiting for a tool result, paused,
archived, failed, expired, and a stale handle), then makes one to four calls drawn from
one group of the API with nasty arguments (`_fuzz_values.py`). For every call:

- only a `tl.ThreadlineError` may escape, or a `TypeError` raised by threadline itself
  when an argument has the wrong Python type; never a `StoreError` or `ProviderError`
  (bad input must not reach the store or the provider), and a `ConcurrencyError` only
  from the stale handle;
- a call that fails leaves the store exactly as it was (every record and message row,
  compared before and after) and the handle it was called on too;
- after every call the store is consistent: message rows match each record's count,
  waiting tool calls match the last message, checkpoints lie within the history, and
  every session can be listed, opened, read, exported, and imported again.

``THREADLINE_FUZZ_PROFILE=deep`` runs ten times as many examples.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import sqlite3
import tempfile
import traceback
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import _fuzz_values as v
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import threadline as tl
from threadline._records import SessionRecord
from threadline._validate import pending_calls

settings.register_profile(
    "threadline-fuzz-ci",
    max_examples=350,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,  # a factory: each example builds its world
    ],
)
settings.register_profile(
    "threadline-fuzz-deep", parent=settings.get_profile("threadline-fuzz-ci"), max_examples=2000
)
PROFILE = settings.get_profile(f"threadline-fuzz-{os.environ.get('THREADLINE_FUZZ_PROFILE', 'ci')}")

# Errors bad input may get. A StoreError or ProviderError would mean it got through.
EXPECTED = (
    tl.ValidationError,
    tl.ConfigurationError,
    tl.SessionNotFoundError,
    tl.SessionExpiredError,
    tl.InvalidTransitionError,
)
_files = itertools.count()


def seed(manager: tl.SessionManager) -> dict[str, str]:
    """Sessions of every kind (the ids by name): with history and a checkpoint,
    waiting for a tool result, paused, archived, failed."""
    main = manager.create(
        user="alice", system="Be terse.", metadata={"team": "a"}, ttl=timedelta(days=1)
    )
    main.send("one")
    main.checkpoint("cp")
    main.send("two")
    tool = manager.create(tools=[tl.Tool(name="lookup", description="Look a word up")])
    tool.send('/tool lookup {"word": "x"}')
    local = manager.create(mode="local", user="bob")
    local.send("hello")
    local.pause()
    archived = manager.create()
    archived.archive()
    failed = manager.create()
    failed.fail("gave up")
    return {
        "main": main.id,
        "tool": tool.id,
        "local": local.id,
        "archived": archived.id,
        "failed": failed.id,
    }


class World:
    """A manager on a fresh store with one session of each kind, and handles on them:
    those `seed` makes, a stale handle, and an expired session. SQLite worlds start
    from a copy of one seeded file (``template``)."""

    def __init__(self, kind: str, directory: Path, template: Path) -> None:
        self.kind = kind
        self.db = directory / f"fuzz{next(_files)}.db"
        if kind == "memory":
            self.manager = m = tl.SessionManager("memory://")
            ids = seed(m)
            self.reader = None
        else:
            shutil.copyfile(template, self.db)
            self.manager = m = tl.SessionManager(f"sqlite:///{self.db}?synchronous=OFF")
            ids = json.loads(template.with_suffix(".json").read_text())
            self.reader = sqlite3.connect(self.db)
        self.handles: dict[str, tl.ConversationSession] = {
            name: m.get(session_id) for name, session_id in ids.items()
        }
        self.handles["stale"] = m.get(ids["main"], user="alice")
        self.handles["main"].checkpoint("cp")  # labels may repeat; "stale" is behind
        self.handles["expired"] = m.create(ttl=timedelta(microseconds=1))

    def close(self) -> None:
        self.manager.close()
        if self.reader is not None:
            self.reader.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.db}{suffix}").unlink(missing_ok=True)

    # -- what the store holds --------------------------------------------------------

    def snapshot(self) -> Any:
        """Everything the store holds, to compare before and after a failed call."""
        if self.reader is None:
            store: Any = self.manager.store
            return dict(store._records), {k: list(m) for k, m in store._messages.items()}
        return (
            {row[0]: row for row in self.reader.execute("SELECT * FROM sessions")},
            self.reader.execute("SELECT * FROM messages ORDER BY session_id, seq").fetchall(),
        )

    def without_server_state(self, snapshot: Any, session_id: str) -> Any:
        """``snapshot`` with one session's server-side handle and version left out: what
        a failed turn may change (it drops server-side state its request may have
        reached)."""
        records, messages = snapshot
        records = dict(records)
        if session_id in records:
            if self.reader is None:
                records[session_id] = records[session_id].model_copy(
                    update={"native": None, "version": 0}
                )
            else:
                data = SessionRecord.model_validate_json(records[session_id][-1])
                records[session_id] = data.model_copy(update={"native": None, "version": 0})
        return records, messages

    def stored(self) -> dict[str, tuple[SessionRecord, list[tl.Message]]]:
        """Every session in the store with its message rows, read past the API."""
        if self.reader is None:
            store: Any = self.manager.store
            return {k: (r, list(store._messages[k])) for k, r in store._records.items()}
        found = {}
        for session_id, count, data in self.reader.execute(
            "SELECT id, message_count, data FROM sessions"
        ):
            rows = self.reader.execute(
                "SELECT seq, data FROM messages WHERE session_id = ? ORDER BY seq", (session_id,)
            ).fetchall()
            assert [seq for seq, _ in rows] == list(range(len(rows))), session_id
            record = SessionRecord.model_validate_json(data)
            assert record.message_count == count
            found[session_id] = (record, [tl.Message.model_validate_json(d) for _, d in rows])
        orphans = self.reader.execute(
            "SELECT count(*) FROM messages WHERE session_id NOT IN (SELECT id FROM sessions)"
        ).fetchone()
        assert orphans == (0,), "message rows of no session"
        return found

    def is_stale(self, handle: tl.ConversationSession) -> bool:
        found = self.stored().get(handle.id)
        return found is not None and found[0].version != handle.version

    def history_of(self, handle: tl.ConversationSession) -> list[tl.Message]:
        """The stored messages the handle's version of its record counts."""
        found = self.stored().get(handle.id)
        return [] if found is None else found[1][: handle._record.message_count]

    def consistent(self) -> dict[str, tuple[SessionRecord, list[tl.Message]]]:
        """The store is consistent: every record matches its message rows."""
        stored = self.stored()
        for session_id, (record, history) in stored.items():
            assert record.id == session_id
            assert record.message_count == len(history), session_id
            assert record.pending_calls == pending_calls(history), session_id
            assert all(0 <= c.message_count <= len(history) for c in record.checkpoints)
            record.model_dump_json()  # storable: valid Unicode, JSON only
            for message in history:
                message.model_dump_json()
        return stored

    def check(self) -> None:
        """The store is consistent and every session in it can be listed, opened,
        read, exported and imported again."""
        stored = self.consistent()
        m = self.manager
        listed = [i.id for i in m.list(limit=1000)] + [
            i.id for i in m.list(status="expired", limit=1000)
        ]
        assert sorted(listed) == sorted(stored)
        with tl.SessionManager("memory://") as scratch:
            for session_id, (record, history) in stored.items():
                try:
                    session = m.get(session_id)
                except tl.SessionExpiredError:
                    continue
                assert session.messages == history
                copy = scratch.import_session(session.export(), keep_id=True)
                # Compared as JSON: memory:// keeps a tuple given as a tool output, a
                # document (like SQLite) holds a list.
                assert [m.model_dump_json() for m in copy.messages] == [
                    m.model_dump_json() for m in history
                ]
                assert copy.checkpoints == record.checkpoints

    # -- one call ----------------------------------------------------------------------

    def call(self, what: str, fn: Callable[[], Any], typed: bool, target: str = "") -> Any:
        """Run one public call; check what escapes and that a failure wrote nothing."""
        before = self.snapshot()
        handle = self.handles.get(target)
        state = None if handle is None else (handle._record, handle._history)
        history = None if state is None or state[1] is None else list(state[1])
        stale = handle is not None and self.is_stale(handle)
        lost_race = False
        try:
            result = fn()
            if isinstance(result, Iterator):
                result = list(result)  # a stream: run it to its end
        except tl.ThreadlineError as exc:
            lost_race = stale and isinstance(exc, tl.ConcurrencyError)
            if not (isinstance(exc, EXPECTED) or lost_race):
                raise AssertionError(f"{what}: bad input got {exc!r}") from exc
            if not str(exc):
                raise AssertionError(f"{what}: {type(exc).__name__} without a message") from exc
        except TypeError as exc:
            if typed:
                raise AssertionError(f"{what}: TypeError on right-typed input: {exc}") from exc
            origin = traceback.extract_tb(exc.__traceback__)[-1].filename
            if f"{os.sep}threadline{os.sep}" not in origin:
                raise AssertionError(f"{what}: TypeError from {origin}: {exc}") from exc
        else:
            self.consistent()
            return result
        after = self.snapshot()
        if lost_race and what in ("send", "stream") and handle is not None:
            # A stale handle's turn reached the provider before its commit lost: the
            # session stops using (and deletes) the server-side copy that holds it.
            before = self.without_server_state(before, handle.id)
            after = self.without_server_state(after, handle.id)
        assert after == before, f"{what} failed but changed the store"
        if handle is not None and state is not None:
            assert handle._record is state[0], f"{what} failed but changed its handle"
            if history is not None or handle._history is not None:
                # Reading the history in is no change; anything else is.
                kept = history if history is not None else self.history_of(handle)
                assert handle._history == kept, f"{what} failed but changed its history"
        self.consistent()
        return None

    def resolve(self, value: Any, handle: tl.ConversationSession | None = None) -> Any:
        """``value`` with the placeholders of `_fuzz_values` filled in from this world."""
        if isinstance(value, v.Known):
            return self.known(value, handle)
        if isinstance(value, dict) and type(value) is dict:
            if value.get("call_id") == v.PENDING:  # a tool result given as a dict
                return {**value, "call_id": self.pending(handle)}
            return {k: self.resolve(item, handle) for k, item in value.items()}
        if isinstance(value, list) and type(value) is list:
            return [self.resolve(item, handle) for item in value]
        if isinstance(value, tl.ToolResult) and value.call_id == v.PENDING:
            return value.model_copy(update={"call_id": self.pending(handle)})
        if isinstance(value, tl.Message):
            return value.model_copy(update={"parts": self.resolve(list(value.parts), handle)})
        return value

    def pending(self, handle: tl.ConversationSession | None) -> str:
        calls = [] if handle is None else handle._record.pending_calls
        return calls[0] if calls else "call_nothing_waits"

    def known(self, ref: v.Known, handle: tl.ConversationSession | None) -> Any:
        def pick(options: list[Any]) -> Any:
            return options[ref.index % len(options)]

        checkpoints = [] if handle is None else handle.checkpoints
        if ref.kind == "session":
            return pick(sorted(h.id for h in self.handles.values()))
        if ref.kind == "answers":
            calls = [] if handle is None else handle._record.pending_calls
            return [tl.ToolResult(call_id=c, output={"ok": ref.index}) for c in calls]
        if ref.kind == "cursor":
            return self.manager.list(limit=1 + ref.index % 3).next_cursor
        if not checkpoints:
            return tl.Checkpoint(message_count=0)
        if ref.kind == "checkpoint":
            return pick(checkpoints)
        if ref.kind == "checkpoint_id":
            return pick(checkpoints).id
        return pick([c.label for c in checkpoints if c.label is not None] or ["cp"])

    def adopt(self, result: Any) -> None:
        """A session a call made becomes a target for the next calls."""
        if isinstance(result, tl.ConversationSession):
            self.handles[f"made{len(self.handles)}"] = result


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where the SQLite worlds live: a RAM disk when there is one (each example makes
    a new database), else the test's temporary directory."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        with tempfile.TemporaryDirectory(prefix="threadline-fuzz-", dir=shm) as directory:
            yield Path(directory)
    else:
        yield tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def template(fuzz_dir: Path) -> Path:
    """A seeded SQLite file that each SQLite world starts from, and its ids."""
    path = fuzz_dir / "template.db"
    with tl.SessionManager(f"sqlite:///{path}") as manager:
        path.with_suffix(".json").write_text(json.dumps(seed(manager)))
    return path


@pytest.fixture(params=["memory", "sqlite"])
def world_factory(
    request: pytest.FixtureRequest, fuzz_dir: Path, template: Path
) -> Callable[[], World]:
    return lambda: World(request.param, fuzz_dir, template)


def values(args: dict[str, v.Arg]) -> tuple[dict[str, Any], bool]:
    return {k: a[0] for k, a in args.items()}, all(a[1] for a in args.values())


def _target(data: st.DataObject, world: World) -> tuple[str, tl.ConversationSession]:
    name = data.draw(st.sampled_from(sorted(world.handles)), label="target")
    return name, world.handles[name]


# -- the manager: create, get, list, delete, import, cleanup ------------------------------

CREATE = v.opt(
    provider=v.provider_arg,
    model=v.text_arg(),
    user=v.user_arg,
    system=v.text_arg(),
    metadata=v.metadata_arg,
    ttl=v.ttl_arg,
    mode=v.mode_arg,
    tools=v.tools_arg,
    session_id=v.new_session_id_arg,
)
LIST = v.opt(
    user=v.user_arg,
    status=v.arg(
        st.sampled_from([*tl.SessionStatus, "active", "ACTIVE", "gone"]) | v.texts,
        [1, True, b"active"],
    ),
    provider=v.text_arg(),
    limit=v.arg(v.big_ints, [True, "10", 1.5, None]),
    cursor=v.arg(
        st.one_of(
            v.known("cursor"),
            v.texts,
            st.builds(lambda n, s: f"{n}.{s}", v.big_ints, v.ids),
            st.none(),
        ),
        [5, b"1.x", ["1.x"]],
    ),
    order_by=v.arg(st.sampled_from(["created", "updated"]) | v.texts, [1, None]),
)


def manager_call(world: World, data: st.DataObject) -> None:
    m = world.manager
    op = data.draw(
        st.sampled_from(["create", "get", "list", "delete", "import", "cleanup"]), label="op"
    )
    if op == "create":
        kwargs, typed = values(data.draw(CREATE, label="create"))
        world.adopt(world.call("create", lambda: m.create(**world.resolve(kwargs)), typed))
    elif op in ("get", "delete"):
        (sid, ok1), (user, ok2) = data.draw(st.tuples(v.session_id_arg, v.user_arg), label=op)
        fn = m.get if op == "get" else m.delete
        world.adopt(world.call(op, lambda: fn(world.resolve(sid), user=user), ok1 and ok2))
    elif op == "list":
        kwargs, typed = values(data.draw(LIST, label="list"))
        world.call("list", lambda: m.list(**world.resolve(kwargs)), typed)
    elif op == "import":
        name, source = _target(data, world)
        # The target may have been deleted by an earlier call: export() then fails.
        document = world.call("export", source.export, True, name) or {"format_version": 1}
        doc = data.draw(v.mutated(document), label="document")
        (user, ok), keep_id = data.draw(st.tuples(v.user_arg, st.booleans()), label="import")
        world.adopt(
            world.call("import", lambda: m.import_session(doc, user=user, keep_id=keep_id), ok)
        )
    else:
        world.call("cleanup_expired", m.cleanup_expired, True)


# -- turns: send and stream -----------------------------------------------------------

OPTIONS = st.dictionaries(
    st.sampled_from(["temperature", "max_output_tokens", "x"]), v.any_values, max_size=2
)


def turn_call(world: World, data: st.DataObject) -> None:
    name, s = _target(data, world)
    op = data.draw(st.sampled_from(["send", "stream"]), label="op")
    (content, ok1), (tools, ok2) = data.draw(st.tuples(v.content_arg, v.tools_arg), label="args")
    options = data.draw(OPTIONS, label="options")
    fn = s.send if op == "send" else s.stream
    resolved = world.resolve(content, s)
    world.call(op, lambda: fn(resolved, tools=tools, **options), ok1 and ok2, name)


# -- history and lifecycle ------------------------------------------------------------

HISTORY_OPS = [
    *["checkpoint", "restore", "restore", "fork", "fork", "export", "fail", "delete"],
    *["pause", "resume", "complete", "cancel", "archive", "reactivate"],
]
FORK = v.opt(
    provider=v.provider_arg,
    model=v.text_arg(optional=False),
    mode=v.mode_arg,
    user=v.user_arg,
    metadata=v.metadata_arg,
    at=v.checkpoint_arg,
    provdier=v.wrong(["echo"]),  # a misspelt option
)


def history_call(world: World, data: st.DataObject) -> None:
    name, s = _target(data, world)
    op = data.draw(st.sampled_from(HISTORY_OPS), label="op")
    if op == "checkpoint":
        label, ok = data.draw(v.text_arg(), label="label")
        world.call(op, lambda: s.checkpoint(label), ok, name)
    elif op == "restore":
        ref, ok = data.draw(v.checkpoint_arg, label="checkpoint")
        world.call(op, lambda: s.restore(world.resolve(ref, s)), ok, name)
    elif op == "fork":
        kwargs, typed = values(data.draw(FORK, label="fork"))
        world.adopt(world.call(op, lambda: s.fork(**world.resolve(kwargs, s)), typed, name))
    elif op == "export":
        world.call(op, s.export, True, name)
    elif op == "fail":
        reason, ok = data.draw(v.text_arg(optional=False), label="reason")
        world.call(op, lambda: s.fail(reason), ok, name)
    elif op == "delete":
        world.call(op, s.delete, True, name)
    else:
        world.call(op, getattr(s, op), True, name)


# -- the tests ------------------------------------------------------------------------


def run(world_factory: Callable[[], World], data: st.DataObject, step: Any) -> None:
    world = world_factory()
    try:
        for _ in range(data.draw(st.integers(1, 4), label="calls")):
            step(world, data)
        world.check()
    finally:
        world.close()


@settings(PROFILE)
@given(data=st.data())
def test_fuzz_manager_calls(world_factory: Callable[[], World], data: st.DataObject) -> None:
    """create, get, list, delete, import_session and cleanup_expired."""
    run(world_factory, data, manager_call)


@settings(PROFILE)
@given(data=st.data())
def test_fuzz_turns(world_factory: Callable[[], World], data: st.DataObject) -> None:
    """send and stream, with every kind of content, tools and options."""
    run(world_factory, data, turn_call)


@settings(PROFILE)
@given(data=st.data())
def test_fuzz_history_and_lifecycle(
    world_factory: Callable[[], World], data: st.DataObject
) -> None:
    """checkpoint, restore, fork, export, the lifecycle transitions, fail and delete."""
    run(world_factory, data, history_call)
