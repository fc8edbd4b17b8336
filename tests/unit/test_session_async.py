"""The async API, method by method, on both built-in stores."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

import threadline as tl


async def test_create_records_what_was_asked(amanager: tl.AsyncSessionManager) -> None:
    """create() stores user, system, metadata and picks native mode for echo."""
    s = await amanager.create(
        provider="echo", user="alice", system="Be terse.", metadata={"ticket": "42"}
    )
    assert s.id.startswith("ses_")
    assert (s.user, s.provider, s.model, s.system) == ("alice", "echo", "echo-1", "Be terse.")
    assert s.metadata == {"ticket": "42"}
    assert s.status is tl.SessionStatus.ACTIVE
    assert s.mode == "native"
    assert s.native_id is None
    assert s.version == 1
    assert s.messages == []
    assert s.usage == tl.Usage()


async def test_send_mirrors_user_and_reply(amanager: tl.AsyncSessionManager) -> None:
    """send() returns the assistant message and mirrors both sides of the turn."""
    s = await amanager.create(system="Be terse.")
    reply = await s.send("Hello there")
    assert reply.role == "assistant"
    assert reply.text == "echo: Hello there"
    assert [(m.role, m.text) for m in s.messages] == [
        ("user", "Hello there"),
        ("assistant", "echo: Hello there"),
    ]
    # Echo counts words: system (2) + input (2); output "echo: Hello there" (3).
    assert reply.usage == tl.Usage(input_tokens=4, output_tokens=3)
    assert s.usage == tl.Usage(input_tokens=4, output_tokens=3)
    assert s.version == 2
    assert s.native_id is not None and s.native_id.startswith("echo_conv_")


async def test_second_turn_uses_native_state(amanager: tl.AsyncSessionManager) -> None:
    """In native mode the second turn continues the server-side copy (cached tokens)."""
    s = await amanager.create()
    await s.send("one two")
    handle = s.native_id
    reply = await s.send("three")
    assert s.native_id == handle
    assert reply.usage is not None
    assert reply.usage.cached_input_tokens == 5  # "one two" + "echo: one two"
    assert s.usage.input_tokens == 2 + 6


async def test_local_mode_sends_history_without_native_state(
    amanager: tl.AsyncSessionManager,
) -> None:
    s = await amanager.create(mode="local")
    await s.send("one two")
    reply = await s.send("three")
    assert s.native_id is None
    assert reply.usage == tl.Usage(input_tokens=6, output_tokens=2)


async def test_stream_yields_words_then_done(amanager: tl.AsyncSessionManager) -> None:
    s = await amanager.create()
    events = [ev async for ev in s.stream("stream these words")]
    assert [e.text for e in events if e.type == "text"] == [
        "echo:",
        " stream",
        " these",
        " words",
    ]
    assert events[-1].type == "done"
    assert events[-1].message is not None
    assert events[-1].message.text == "echo: stream these words"
    assert s.messages[-1] == events[-1].message
    assert len(s.messages) == 2


async def test_abandoned_stream_leaves_mirror_unchanged(
    amanager: tl.AsyncSessionManager,
) -> None:
    s = await amanager.create()
    await s.send("first")
    stream = s.stream("never finished")
    first = await anext(stream)
    assert first.text == "echo:"
    await stream.aclose()  # type: ignore[attr-defined]
    assert [m.text for m in s.messages] == ["first", "echo: first"]
    again = await amanager.get(s.id)
    assert len(again.messages) == 2
    assert (await s.send("next")).text == "echo: next"


async def test_get_returns_the_same_conversation(amanager: tl.AsyncSessionManager) -> None:
    s = await amanager.create(user="alice")
    await s.send("remember me")
    loaded = await amanager.get(s.id, user="alice")
    assert loaded.messages == s.messages
    assert loaded.version == s.version
    assert loaded.usage == s.usage
    assert loaded.native_id == s.native_id


async def test_list_filters_and_orders_newest_first(amanager: tl.AsyncSessionManager) -> None:
    a = await amanager.create(user="alice")
    b = await amanager.create(user="alice", mode="local")
    c = await amanager.create(user="bob")
    await b.pause()
    assert [i.id for i in await amanager.list(user="alice")] == [b.id, a.id]
    assert [i.id for i in await amanager.list(user="alice", status="paused")] == [b.id]
    assert [i.id for i in await amanager.list(user="alice", status="active")] == [a.id]
    assert {i.id for i in await amanager.list()} == {a.id, b.id, c.id}
    info = (await amanager.list(user="bob"))[0]
    assert (info.id, info.user, info.provider, info.message_count) == (c.id, "bob", "echo", 0)
    # Most recently written first.
    await a.send("touch")
    assert [i.id for i in await amanager.list(user="alice", order_by="updated")] == [a.id, b.id]
    assert (await amanager.list(user="alice", order_by="updated"))[0].message_count == 2


async def test_list_pages_with_a_cursor(amanager: tl.AsyncSessionManager) -> None:
    ids = [(await amanager.create(user="pager")).id for _ in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        page = await amanager.list(user="pager", limit=2, cursor=cursor)
        seen.extend(i.id for i in page)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == list(reversed(ids))


async def test_list_refuses_bad_arguments(amanager: tl.AsyncSessionManager) -> None:
    with pytest.raises(tl.ValidationError, match="limit must be between 1 and 1000"):
        await amanager.list(limit=0)
    with pytest.raises(tl.ValidationError, match="unknown status 'sleeping'"):
        await amanager.list(status="sleeping")
    with pytest.raises(tl.ValidationError, match="not a list cursor"):
        await amanager.list(cursor="garbage")


async def test_checkpoint_and_restore(amanager: tl.AsyncSessionManager) -> None:
    """restore() cuts history back; the next turn sees exactly that context."""
    s = await amanager.create()
    await s.send("keep")
    cp = await s.checkpoint("before-risky")
    assert (cp.label, cp.message_count) == ("before-risky", 2)
    await s.send("risky one")
    late = await s.checkpoint("late")
    await s.send("risky two")
    handle = s.native_id
    await s.restore(cp)
    assert [m.text for m in s.messages] == ["keep", "echo: keep"]
    assert s.checkpoints == [cp]  # the later checkpoint went with the history
    assert s.native_id is None
    reply = await s.send("after")
    assert reply.text == "echo: after"
    # Re-seeded from the mirror: the server copy holds only the restored history.
    assert s.native_id != handle
    echo = amanager.provider("echo")
    assert isinstance(echo, tl.providers.EchoProvider)
    assert s.native_id is not None
    assert [m.text for m in echo.conversations[s.native_id]] == [
        "keep",
        "echo: keep",
        "after",
        "echo: after",
    ]
    reloaded = await amanager.get(s.id)
    assert [m.text for m in reloaded.messages] == [m.text for m in s.messages]
    with pytest.raises(tl.ValidationError, match="has no checkpoint"):
        await s.restore(late)


async def test_restore_by_label_and_id(amanager: tl.AsyncSessionManager) -> None:
    s = await amanager.create()
    cp0 = await s.checkpoint("empty")
    await s.send("x")
    await s.restore("empty")
    assert s.messages == []
    await s.send("y")
    await s.restore(cp0.id)
    assert s.messages == []


async def test_fork_copies_history_and_leaves_parent(amanager: tl.AsyncSessionManager) -> None:
    s = await amanager.create(user="alice", metadata={"a": 1})
    await s.send("shared")
    child = await s.fork(metadata={"b": 2})
    assert child.id != s.id
    assert child.parent_id == s.id
    assert child.messages == s.messages
    assert child.metadata == {"a": 1, "b": 2}
    assert child.user == "alice"
    assert child.usage == tl.Usage()
    assert child.native_id is None
    await child.send("only child")
    assert len(child.messages) == 4
    assert len(s.messages) == 2
    assert len((await amanager.get(s.id)).messages) == 2


async def test_fork_at_checkpoint_and_to_another_model(amanager: tl.AsyncSessionManager) -> None:
    s = await amanager.create()
    await s.send("one")
    cp = await s.checkpoint()
    await s.send("two")
    child = await s.fork(at=cp, model="echo-2", mode="local")
    assert [m.text for m in child.messages] == ["one", "echo: one"]
    assert (child.model, child.mode) == ("echo-2", "local")
    reply = await child.send("three")
    # Local mode: the whole forked history is the context.
    assert reply.usage is not None and reply.usage.input_tokens == 1 + 2 + 1


async def test_export_import_round_trip(amanager: tl.AsyncSessionManager) -> None:
    s = await amanager.create(user="alice", system="sys", metadata={"k": "v"})
    await s.send("hello")
    await s.checkpoint("cp")
    data = await s.export()
    assert data["format_version"] == 1
    assert "native" not in data["session"]
    copy = await amanager.import_session(data, user="bob")
    assert copy.id != s.id
    assert copy.user == "bob"
    assert copy.messages == s.messages
    assert (copy.system, copy.metadata) == ("sys", {"k": "v"})
    assert [c.label for c in copy.checkpoints] == ["cp"]
    assert copy.native_id is None
    assert (await copy.send("again")).text == "echo: again"
    with pytest.raises(tl.ValidationError, match="is already taken"):
        await amanager.import_session(data, keep_id=True)  # id taken
    await s.delete()
    kept = await amanager.import_session(data, keep_id=True)
    assert kept.id == s.id
    with pytest.raises(tl.ValidationError, match=r"format_version 1 \(found 99\)"):
        await amanager.import_session({"format_version": 99})
    with pytest.raises(tl.ValidationError, match="no session object"):
        await amanager.import_session({"format_version": 1, "session": "nope"})
    # Fields a later version adds are ignored, not refused.
    newer = {**data, "session": {**data["session"], "added_later": True}}
    assert (await amanager.import_session(newer)).messages == s.messages


async def test_delete_removes_session_and_native_state(
    amanager: tl.AsyncSessionManager,
) -> None:
    s = await amanager.create()
    await s.send("bye")
    echo = amanager.provider("echo")
    assert isinstance(echo, tl.providers.EchoProvider)
    assert s.native_id in echo.conversations
    await s.delete()
    assert s.native_id not in echo.conversations
    with pytest.raises(tl.SessionNotFoundError, match="not found"):
        await amanager.get(s.id)
    other = await amanager.create()
    await amanager.delete(other.id)
    assert await amanager.list() == []


async def test_refresh_reloads_after_another_writer(store_url: str) -> None:
    async with tl.AsyncSessionManager(store_url) as m1:
        s1 = await m1.create()
        s2 = await m1.get(s1.id)
        await s2.send("from s2")
        await s1.refresh()
        assert [m.text for m in s1.messages] == ["from s2", "echo: from s2"]
        assert s1.version == s2.version


async def test_tools_round_trip_offline(amanager: tl.AsyncSessionManager) -> None:
    """Echo calls an offered tool on `/tool NAME {json}` and reads the result back."""
    weather = tl.Tool(
        name="weather",
        description="Weather for a city",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}},
    )
    s = await amanager.create(tools=[weather])
    reply = await s.send('/tool weather {"city": "Oslo"}')
    [call] = reply.tool_calls
    assert (call.name, call.arguments) == ("weather", {"city": "Oslo"})
    answer = await s.send(tl.ToolResult(call_id=call.call_id, output={"temp_c": 3}))
    assert answer.text == 'echo: weather returned {"temp_c": 3}'
    assert [m.role for m in s.messages] == ["user", "assistant", "tool", "assistant"]
    # Plain dicts work as tool definitions too, per turn.
    s2 = await amanager.create()
    r2 = await s2.send("/tool add {}", tools=[{"name": "add", "parameters": {}}])
    assert r2.tool_calls[0].name == "add"


async def test_send_accepts_parts_and_messages(amanager: tl.AsyncSessionManager) -> None:
    s = await amanager.create()
    reply = await s.send(["look at", tl.ImagePart(url="https://example.com/cat.png")])
    assert reply.text == "echo: look at"
    assert isinstance(s.messages[0].parts[1], tl.ImagePart)
    await s.send(tl.Message.user("as a message"))
    assert s.messages[-2].text == "as a message"
    with pytest.raises(tl.ValidationError, match="needs some content"):
        await s.send("")
    with pytest.raises(tl.ValidationError, match="not 'assistant'"):
        await s.send(tl.Message.assistant("not mine to send"))
    assert len(s.messages) == 4


async def test_default_ttl_and_manager_options(store_url: str) -> None:
    async with tl.AsyncSessionManager(store_url, default_ttl=timedelta(hours=1)) as m:
        s = await m.create()
        assert s.expires_at is not None
        assert timedelta(minutes=59) < s.expires_at - s.created_at <= timedelta(hours=1)


async def test_unknown_provider_and_bad_mode(amanager: tl.AsyncSessionManager) -> None:
    with pytest.raises(tl.ConfigurationError, match="unknown provider"):
        await amanager.create(provider="nope")
    with pytest.raises(tl.ValidationError, match="not 'remote'"):
        await amanager.create(mode="remote")  # type: ignore[arg-type]


async def test_cleanup_and_close_async(store_url: str, move_clock: Any) -> None:
    manager = tl.AsyncSessionManager(store_url)
    with pytest.raises(tl.ValidationError, match="ttl must be positive"):
        await manager.create(ttl=timedelta(0))
    s = await manager.create(ttl=timedelta(seconds=1))
    move_clock(timedelta(seconds=2))
    assert s.status is tl.SessionStatus.EXPIRED
    assert await manager.cleanup_expired() == 1
    with pytest.raises(tl.SessionNotFoundError, match="not found"):
        await manager.get(s.id)
    await manager.close()
    await manager.close()


async def test_message_lists_render_for_notebooks(amanager: tl.AsyncSessionManager) -> None:
    s = await amanager.create(system="Be <b>terse</b>.")
    await s.send("5 < 6 & true")
    html = s.messages._repr_html_()  # type: ignore[attr-defined]
    assert "5 &lt; 6 &amp; true" in html
    assert "echo: 5 &lt; 6 &amp; true" in html
    page = s._repr_html_()
    assert "Be &lt;b&gt;terse&lt;/b&gt;." in page
    assert s.id in page
