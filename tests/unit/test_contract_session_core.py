"""The session object's own contract, on the async face (both built-in stores).

What a user sees of `AsyncConversationSession` itself: its repr and notebook
rendering, the errors a deleted, expired or stale handle raises (and what they name),
argument checks of ``checkpoint``/``fail``/``restore``/``fork`` and their messages,
``fail(reason)`` and ``status_reason``, what a fork resets (id, owner, status, reason,
version, timestamps, mode, pending tool calls), that a restore and a fork keep the
tool-call rule, the no-re-entry rule of open streams, the fork's telemetry and that an
idle handle from ``get()`` stays small.
"""

from __future__ import annotations

import asyncio
import gc
import math
import re
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

import threadline as tl
from threadline.testing import EchoProvider, capture_telemetry

TTL = timedelta(hours=1)
TOOL = tl.Tool(
    name="lookup",
    description="find a thing",
    parameters={"type": "object", "properties": {"q": {"type": "string"}}},
)
SESSION_ID = re.compile(r"ses_[0-9a-z]{26}")


def texts(messages: list[tl.Message]) -> list[str]:
    return [m.text for m in messages]


async def two_turns(manager: tl.AsyncSessionManager, **options: Any) -> tl.AsyncConversationSession:
    """A session with ``one``, checkpoint ``after-one``, ``two``: four messages."""
    session = await manager.create(**options)
    await session.send("one")
    await session.checkpoint("after-one")
    await session.send("two")
    return session


# -- what a user sees ----------------------------------------------------------------------


async def test_repr_names_the_class_id_provider_model_status_count_and_version(
    amanager: tl.AsyncSessionManager,
) -> None:
    session = await amanager.create()
    await session.send("hi")
    expected = f"<AsyncConversationSession {session.id} echo/echo-1 active messages=2 v2>"
    assert repr(session) == expected
    assert repr(await amanager.get(session.id)) == expected
    await session.pause()
    assert repr(session) == (
        f"<AsyncConversationSession {session.id} echo/echo-1 paused messages=2 v3>"
    )


async def test_notebook_rendering_shows_the_chat_or_just_the_header(
    store_url: str,
) -> None:
    manager = tl.AsyncSessionManager(store_url)
    session = await manager.create()
    await session.send("hello <there>")
    idle = await manager.get(session.id)
    for handle in (session, idle):  # loaded, and read inline on first use
        html = handle._repr_html_()
        assert f"<b>{session.id}</b>" in html
        assert "echo/echo-1" in html and "2 messages" in html
        assert "hello &lt;there&gt;" in html and "echo: hello &lt;there&gt;" in html
    unread = await manager.get(session.id)
    await manager.aclose()
    # The history can no longer be read: the header alone, in the one outer container.
    html = unread._repr_html_()
    assert f"<b>{session.id}</b>" in html and "2 messages" in html
    assert "hello" not in html
    assert html.count("<div") == 1 and html.endswith("2 messages</div>")


# -- deleted, expired and stale handles ----------------------------------------------------


async def test_a_deleted_handle_refuses_writes_with_session_not_found(
    amanager: tl.AsyncSessionManager,
) -> None:
    session = await two_turns(amanager)
    await session.delete()
    message = f"^session {session.id!r} not found$"
    with pytest.raises(tl.SessionNotFoundError, match=message) as caught:
        await session.checkpoint("late")
    assert caught.value.session_id == session.id
    with pytest.raises(tl.SessionNotFoundError, match=message):
        await session.restore("after-one")
    with pytest.raises(tl.SessionNotFoundError, match=message):
        await session.send("anyone?")


async def test_a_deleted_handle_says_not_found_whatever_its_status_or_ttl(
    store_url: str, move_clock: Any
) -> None:
    """Deletion is checked first: not the lifecycle, not the clock, and no model call."""
    echo = EchoProvider()
    async with tl.AsyncSessionManager(store_url, providers=[echo]) as manager:
        paused = await manager.create(ttl=TTL)
        await paused.send("hi")
        await paused.checkpoint("cp")
        await paused.pause()
        done = await manager.create(ttl=TTL)
        await done.checkpoint("cp")
        await done.complete()
        calls = echo.calls
        await paused.delete()
        await done.delete()
        for session in (paused, done):
            with pytest.raises(tl.SessionNotFoundError, match="not found") as caught:
                await session.send("still there?")
            assert caught.value.session_id == session.id
            with pytest.raises(tl.SessionNotFoundError, match="not found"):
                await session.restore("cp")
        with pytest.raises(tl.SessionNotFoundError, match="not found"):
            async for _ in paused.stream("still there?"):
                pass
        move_clock(TTL * 2)
        with pytest.raises(tl.SessionNotFoundError, match="not found"):
            await paused.checkpoint("after the ttl")
        with pytest.raises(tl.SessionNotFoundError, match="not found"):
            await paused.send("after the ttl")
        assert echo.calls == calls  # nothing reached the provider


async def test_an_expired_handle_names_itself_in_session_expired_error(
    amanager: tl.AsyncSessionManager, move_clock: Any
) -> None:
    session = await amanager.create(ttl=TTL)
    await session.send("hi")
    await session.checkpoint("cp")
    version = session.version
    move_clock(TTL + timedelta(seconds=1))
    message = f"^session {session.id!r} has expired$"
    writes = [
        lambda: session.checkpoint("late"),
        lambda: session.restore("cp"),
        lambda: session.send("late"),
        session.pause,
        lambda: session.fail("too late"),
        session.archive,
    ]
    for write in writes:
        with pytest.raises(tl.SessionExpiredError, match=message) as caught:
            await write()
        assert caught.value.session_id == session.id
    assert session.version == version


async def test_a_stale_handle_reading_a_history_cut_back_by_restore_gets_concurrency_error(
    amanager: tl.AsyncSessionManager,
) -> None:
    writer = await two_turns(amanager, ttl=TTL)
    stale = await amanager.get(writer.id)
    other = await amanager.get(writer.id)
    version = stale.version
    await writer.restore("after-one")
    message = (
        rf"^session {writer.id!r} changed since version {version}; refresh\(\) it and try again$"
    )
    with pytest.raises(tl.ConcurrencyError, match=message) as caught:
        await stale.load_messages()
    assert (caught.value.session_id, caught.value.expected_version) == (writer.id, version)
    with pytest.raises(tl.ConcurrencyError, match=message):
        other.messages  # noqa: B018 - the property reads inline on these stores
    await stale.refresh()
    assert texts(await stale.load_messages()) == ["one", "echo: one"]


async def test_a_handle_reading_the_history_of_a_deleted_session_gets_not_found(
    amanager: tl.AsyncSessionManager,
) -> None:
    writer = await two_turns(amanager, ttl=TTL)
    stale = await amanager.get(writer.id)
    await writer.delete()
    with pytest.raises(tl.SessionNotFoundError, match=f"^session {writer.id!r} not found$") as e:
        await stale.load_messages()
    assert e.value.session_id == writer.id


# -- argument checks -----------------------------------------------------------------------


async def test_checkpoint_labels_are_checked_and_named_in_the_error(
    amanager: tl.AsyncSessionManager,
) -> None:
    session = await amanager.create()
    with pytest.raises(TypeError, match=r"^checkpoint label must be a str or None, not int$"):
        await session.checkpoint(7)  # type: ignore[arg-type]
    with pytest.raises(tl.ValidationError, match=r"^checkpoint label is not valid Unicode"):
        await session.checkpoint("bad \ud800")
    assert (session.version, session.checkpoints) == (1, [])
    assert (await amanager.get(session.id)).checkpoints == []
    unlabelled = await session.checkpoint()
    assert unlabelled.label is None and session.checkpoints == [unlabelled]


async def test_restore_and_fork_name_the_type_of_a_wrong_checkpoint_reference(
    amanager: tl.AsyncSessionManager,
) -> None:
    session = await two_turns(amanager)
    prefix = "^a checkpoint is a tl.Checkpoint, its id or its label, not "
    with pytest.raises(TypeError, match=prefix + "int$"):
        await session.restore(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=prefix + "float$"):
        await session.fork(at=1.5)  # type: ignore[arg-type]
    with pytest.raises(tl.ValidationError, match=f"^session {session.id!r} has no checkpoint"):
        await session.restore("never-made")
    assert (session.version, len(await amanager.list())) == (4, 1)


async def test_fail_needs_a_text_reason(amanager: tl.AsyncSessionManager) -> None:
    session = await amanager.create()
    with pytest.raises(TypeError, match=r"^reason must be a str, not int$"):
        await session.fail(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^reason must be a str, not NoneType$"):
        await session.fail(None)  # type: ignore[arg-type]
    with pytest.raises(tl.ValidationError, match=r"^reason is not valid Unicode"):
        await session.fail("bad \ud800")
    assert (session.status, session.version) == (tl.SessionStatus.ACTIVE, 1)


async def test_fork_refuses_unknown_options_naming_them_sorted(
    amanager: tl.AsyncSessionManager,
) -> None:
    session = await amanager.create()
    wrong: dict[str, Any] = {"provdier": "echo", "atx": "cp"}
    with pytest.raises(TypeError, match=r"^fork\(\) got unknown options: atx, provdier$"):
        await session.fork(**wrong)
    with pytest.raises(TypeError, match=r"^fork\(\) got unknown options: modle$"):
        await session.fork(modle="echo-2")  # type: ignore[call-arg]
    assert [i.id for i in await amanager.list()] == [session.id]


async def test_fork_checks_provider_and_model_as_text(
    amanager: tl.AsyncSessionManager,
) -> None:
    session = await amanager.create()
    with pytest.raises(TypeError, match=r"^provider must be a str, not int$"):
        await session.fork(provider=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^model must be a str, not int$"):
        await session.fork(model=2)  # type: ignore[arg-type]
    with pytest.raises(tl.ValidationError, match=r"^model is not valid Unicode"):
        await session.fork(model="echo-\ud800")
    assert [i.id for i in await amanager.list()] == [session.id]


# -- fail() and status_reason --------------------------------------------------------------


async def test_fail_records_its_reason_until_the_session_leaves_failed(
    amanager: tl.AsyncSessionManager,
) -> None:
    session = await amanager.create()
    assert session.status_reason is None
    await session.fail("the agent gave up")
    for seen in (session, await amanager.get(session.id)):
        assert (seen.status, seen.status_reason) == (tl.SessionStatus.FAILED, "the agent gave up")
    await session.resume()
    for seen in (session, await amanager.get(session.id)):
        assert (seen.status, seen.status_reason) == (tl.SessionStatus.ACTIVE, None)
    await session.fail("again")
    await session.archive()
    assert (await amanager.get(session.id)).status_reason is None


# -- fork ----------------------------------------------------------------------------------


async def test_a_fork_is_a_new_active_session_at_version_one_with_fresh_timestamps(
    amanager: tl.AsyncSessionManager, move_clock: Any
) -> None:
    parent = await two_turns(amanager, user="ann", ttl=TTL)
    await parent.fail("stuck")
    parent_state = (parent.version, parent.status, parent.status_reason, parent.updated_at)
    move_clock(timedelta(minutes=10))
    child = await parent.fork()
    stored = await amanager.get(child.id)
    for seen in (child, stored):
        assert SESSION_ID.fullmatch(seen.id) and seen.id != parent.id
        assert seen.parent_id == parent.id
        assert (seen.status, seen.status_reason) == (tl.SessionStatus.ACTIVE, None)
        assert seen.version == 1
        assert seen.updated_at == seen.created_at
        assert seen.created_at - parent.updated_at >= timedelta(minutes=10)
    assert SESSION_ID.fullmatch(parent.id)
    # The child takes turns at once, and its versions count from one.
    await child.send("three")
    assert child.version == 2
    # The parent is not changed.
    parent_now = await amanager.get(parent.id)
    assert (
        parent_now.version,
        parent_now.status,
        parent_now.status_reason,
        parent_now.updated_at,
    ) == parent_state


async def test_a_fork_of_a_paused_session_starts_active(
    amanager: tl.AsyncSessionManager,
) -> None:
    parent = await amanager.create()
    await parent.send("hi")
    await parent.pause()
    child = await parent.fork()
    assert child.status == tl.SessionStatus.ACTIVE
    assert (await amanager.get(child.id)).status == tl.SessionStatus.ACTIVE
    assert (await child.send("go on")).text == "echo: go on"
    assert parent.status == tl.SessionStatus.PAUSED


async def test_fork_user_overrides_or_inherits_the_owner(
    amanager: tl.AsyncSessionManager,
) -> None:
    parent = await amanager.create(user="ann")
    await parent.send("hi")
    inherited = await parent.fork()
    given = await parent.fork(user="bob")
    unowned = await parent.fork(user=None)
    assert (inherited.user, given.user, unowned.user) == ("ann", "bob", None)
    assert (await amanager.get(given.id, user="bob")).user == "bob"
    with pytest.raises(tl.SessionNotFoundError, match="not found"):
        await amanager.get(given.id, user="ann")
    assert (await amanager.get(unowned.id)).user is None
    assert {i.id for i in await amanager.list(user="ann")} == {parent.id, inherited.id}
    with pytest.raises(tl.ValidationError, match=r"^user 'no/slash' may only hold"):
        await parent.fork(user="no/slash")


async def test_a_fork_on_the_same_provider_keeps_the_mode(
    amanager: tl.AsyncSessionManager,
) -> None:
    local = await amanager.create(mode="local")
    await local.send("hi")
    assert (await local.fork()).mode == "local"
    same = await local.fork(provider="echo", model="echo-2")
    assert (same.mode, same.model) == ("local", "echo-2")
    assert (await amanager.get(same.id)).mode == "local"
    assert (await local.fork(mode="native")).mode == "native"
    native = await amanager.create()
    assert (await native.fork()).mode == "native"


async def test_fork_and_writes_record_their_store_step_on_their_own_span(
    store_url: str,
) -> None:
    telemetry = capture_telemetry()
    async with tl.AsyncSessionManager(store_url, **telemetry.manager_options) as manager:
        parent = await manager.create()
        await parent.send("hi")
        await parent.checkpoint("cp")
        await parent.restore("cp")
        await parent.pause()
        child = await parent.fork()
    span = telemetry.span("threadline.fork")
    assert span.attributes is not None
    assert span.attributes["threadline.fork.child_id"] == child.id
    assert span.attributes["gen_ai.conversation.id"] == parent.id
    assert "threadline.store.create" in [e.name for e in span.events]
    for write in ("checkpoint", "restore", "pause"):
        events = [e.name for e in telemetry.span(f"threadline.{write}").events]
        assert events == ["threadline.store.commit"], write
    telemetry.shutdown()


async def test_a_fork_starts_with_its_history_in_hand(
    amanager: tl.AsyncSessionManager,
) -> None:
    """Forking reads the parent's history (once); the child needs no read of its own."""
    parent = await amanager.get((await two_turns(amanager)).id)
    store: Any = amanager.store
    reads: list[str] = []
    read_messages = store.read_messages

    async def counting(session_id: str, **kwargs: Any) -> list[tl.Message]:
        reads.append(session_id)
        result: list[tl.Message] = await read_messages(session_id, **kwargs)
        return result

    store.read_messages = counting
    child = await parent.fork()
    assert reads == [parent.id]
    assert texts(child.messages) == ["one", "echo: one", "two", "echo: two"]
    assert len(await child.load_messages()) == 4
    partial = await parent.fork(at="after-one")
    assert texts(partial.messages) == ["one", "echo: one"]
    assert reads == [parent.id]


# -- the tool-call rule across restore and fork --------------------------------------------


async def waiting_for_a_tool(
    manager: tl.AsyncSessionManager,
) -> tuple[tl.AsyncConversationSession, str]:
    """A session whose last reply asks for a tool: checkpoints ``before`` and ``waiting``."""
    session = await manager.create(tools=[TOOL])
    await session.send("hi")
    await session.checkpoint("before")
    reply = await session.send('/tool lookup {"q": "maps"}')
    [call] = reply.tool_calls
    await session.checkpoint("waiting")
    return session, call.call_id


async def test_restore_to_before_a_tool_call_frees_the_session(
    amanager: tl.AsyncSessionManager,
) -> None:
    session, call_id = await waiting_for_a_tool(amanager)
    with pytest.raises(tl.ValidationError, match=f"asked for tool calls {call_id}"):
        await session.send("never mind")
    await session.restore("before")
    assert (await session.send("never mind")).text == "echo: never mind"


async def test_restore_to_a_pending_tool_call_makes_it_pending_again(
    amanager: tl.AsyncSessionManager,
) -> None:
    session, call_id = await waiting_for_a_tool(amanager)
    await session.send([tl.ToolResult(call_id=call_id, output="found")])
    await session.restore("waiting")
    for seen in (session, await amanager.get(session.id)):
        with pytest.raises(tl.ValidationError, match=f"asked for tool calls {call_id}"):
            await seen.send("something else")
    reply = await session.send([tl.ToolResult(call_id=call_id, output="again")])
    assert reply.text == "echo: lookup returned again"


async def test_a_fork_keeps_the_tool_call_rule_of_its_history(
    amanager: tl.AsyncSessionManager,
) -> None:
    parent, call_id = await waiting_for_a_tool(amanager)
    whole = await parent.fork()
    for seen in (whole, await amanager.get(whole.id)):
        with pytest.raises(tl.ValidationError, match=f"asked for tool calls {call_id}"):
            await seen.send("something else")
    reply = await whole.send([tl.ToolResult(call_id=call_id, output="found")])
    assert reply.text == "echo: lookup returned found"
    early = await parent.fork(at="before")
    assert (await early.send("something else")).text == "echo: something else"
    with pytest.raises(tl.ValidationError, match="asked for tool calls"):
        await parent.send("the parent still waits")


# -- open streams --------------------------------------------------------------------------


async def test_sending_or_streaming_inside_an_open_stream_is_refused_by_name(
    amanager: tl.AsyncSessionManager,
) -> None:
    session = await amanager.create()
    tail = r" while a stream of this session is open here; finish the stream, or close it"
    tail += r" \(await stream\.aclose\(\)\) first$"
    kinds = []
    async for event in session.stream("a b c"):
        kinds.append(event.type)
        if len(kinds) == 1:
            with pytest.raises(tl.ValidationError, match=r"^cannot send" + tail):
                await session.send("inner")
            with pytest.raises(tl.ValidationError, match=r"^cannot stream" + tail):
                session.stream("inner")
    assert kinds[-1] == "done"
    assert texts(session.messages) == ["a b c", "echo: a b c"]


async def test_another_task_sending_during_a_stream_waits_for_it(
    amanager: tl.AsyncSessionManager,
) -> None:
    session = await amanager.create()
    started = asyncio.Event()

    async def other_task() -> tl.Message:
        started.set()
        return await session.send("from elsewhere")

    stream = session.stream("streamed words")
    first = await anext(stream)
    assert first.type == "text"
    task = asyncio.create_task(other_task())
    await started.wait()  # the other task has called send() and waits for the session
    assert not task.done()
    async for _ in stream:
        pass
    reply = await task
    assert reply.text == "echo: from elsewhere"
    assert texts(session.messages) == [
        "streamed words",
        "echo: streamed words",
        "from elsewhere",
        "echo: from elsewhere",
    ]


# -- idle handles --------------------------------------------------------------------------


async def test_idle_handles_from_get_stay_small(sqlite_url: str) -> None:
    """docs/performance.md: an idle handle from ``get()`` (history not read) holds
    about 0.8 KB on the async face, not a parsed record's ~4.5 KB."""
    count = 200
    async with tl.AsyncSessionManager(sqlite_url) as manager:
        session = await manager.create(user="u", metadata={"k": "v"})
        await session.send("hi")
        await manager.get(session.id)  # warm the store's caches
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            handles = [await manager.get(session.id) for _ in range(count)]
            gc.collect()
            held = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert held / count < 2048
        # Using one reads exactly what was stored.
        idle = handles[0]
        assert (idle.user, idle.metadata, idle.version, idle.status) == (
            "u",
            {"k": "v"},
            2,
            tl.SessionStatus.ACTIVE,
        )
        assert (await idle.send("again")).text == "echo: again"


# -- JSON has no NaN or Infinity -------------------------------------------------------------


async def test_metadata_a_store_cannot_keep_is_refused_and_nothing_written(
    amanager: tl.AsyncSessionManager,
) -> None:
    """A store would keep NaN or Infinity as null: refused before anything is written."""
    parent = await amanager.create()
    writes: list[Callable[[], Awaitable[tl.AsyncConversationSession]]] = [
        lambda: amanager.create(metadata={"score": math.nan}),
        lambda: parent.fork(metadata={"score": [1.0, -math.inf]}),
        lambda: amanager.create(metadata={"nested": {"x": math.inf}}),
    ]
    for write in writes:
        with pytest.raises(
            tl.ValidationError, match=r"metadata must be JSON: .* is not a JSON number"
        ):
            await write()
    assert [s.id for s in await amanager.list()] == [parent.id]


async def test_a_tool_result_that_is_not_json_is_refused_and_nothing_written(
    amanager: tl.AsyncSessionManager,
) -> None:
    session = await amanager.create(tools=[tl.Tool(name="measure")])
    call = (await session.send("/tool measure {}")).tool_calls[0]
    with pytest.raises(tl.ValidationError, match=r"tool result output must be JSON: nan"):
        await session.send(tl.ToolResult(call_id=call.call_id, output={"value": math.nan}))
    assert len(await (await amanager.get(session.id)).load_messages()) == 2
    reply = await session.send(tl.ToolResult(call_id=call.call_id, output={"value": 1.5}))
    assert reply.text == 'echo: measure returned {"value": 1.5}'
