"""Re-seeding server-side state from the mirror: lost state, restore, fork, hand-off."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

import threadline as tl
from threadline.providers import EchoProvider

if TYPE_CHECKING:
    from openai_fake import Flavor


async def _turns(session: object, count: int) -> None:
    for n in range(count):
        await session.send(f"turn {n}")  # type: ignore[attr-defined]


async def test_a_lost_conversation_is_reseeded_twenty_items_at_a_time(flavor: Flavor) -> None:
    """The server forgot the conversation (404): a new one is created from the 24
    mirrored messages (20 in the create call, 4 added after), the turn goes through,
    and the re-seed is visible as a span event."""
    server = flavor.server
    s = await flavor.create(system="sys")
    await _turns(s, 12)
    old = s.native_id
    server.conversations.clear()
    server.calls.clear()

    reply = await s.send("after the loss")

    assert reply.text == "re: after the loss"
    assert s.native_id != old
    [create] = server.requests("POST", "/v1/conversations")
    assert len(create.body["items"]) == 20
    assert create.body["metadata"] == {"threadline_session_id": s.id}
    [added] = server.requests("POST", f"/v1/conversations/{s.native_id}/items")
    assert len(added.body["items"]) == 4
    expected = [m.text for m in s.messages]
    assert len(expected) == 26
    assert [text for _, text in server.texts(s.native_id)] == expected
    # The failed call named the old conversation; the retry the new one, same input.
    failed, retried = server.response_bodies
    assert failed["conversation"] == old and retried["conversation"] == s.native_id
    assert retried["input"] == [{"role": "user", "content": "after the loss"}]
    assert flavor.events("threadline.native.reseed") == [{"reason": "lost", "items": 24}]


async def test_a_lost_previous_response_resends_the_history(flavor: Flavor) -> None:
    """Chaining mode: when the previous response is gone, the turn is sent once more
    with the whole mirrored history and no ``previous_response_id``; chaining resumes
    from the new response."""
    server = flavor.server
    s = await flavor.create(native="responses")
    await _turns(s, 2)
    server.stored.clear()
    server.calls.clear()

    await s.send("again")
    await s.send("and again")

    failed, reseeded, chained = server.response_bodies
    assert "previous_response_id" in failed
    assert "previous_response_id" not in reseeded
    assert [i["content"] for i in reseeded["input"]] == [
        "turn 0",
        "re: turn 0",
        "turn 1",
        "re: turn 1",
        "again",
    ]
    assert reseeded["store"] is True
    assert chained["input"] == [{"role": "user", "content": "and again"}]
    assert flavor.events("threadline.native.reseed") == [{"reason": "lost", "items": 4}]


async def test_restore_makes_the_server_see_exactly_the_restored_history(flavor: Flavor) -> None:
    """After ``restore``, the next turn runs in a new conversation seeded with the
    history up to the checkpoint; the abandoned turns are not in it."""
    server = flavor.server
    s = await flavor.create()
    await s.send("keep")
    checkpoint = await s.checkpoint("cp")
    await s.send("drop me")
    old = s.native_id

    await s.restore(checkpoint)
    await s.send("instead")

    assert s.native_id != old
    assert [text for _, text in server.texts(s.native_id)] == [
        "keep",
        "re: keep",
        "instead",
        "re: instead",
    ]
    assert [m.text for m in s.messages] == ["keep", "re: keep", "instead", "re: instead"]
    assert flavor.events("threadline.native.reseed") == [{"reason": "stale", "items": 2}]


async def test_a_fork_gets_its_own_conversation_and_the_parent_keeps_its_own(
    flavor: Flavor,
) -> None:
    """A fork seeds a new conversation from the shared history; the parent carries on
    in its conversation, which never sees the child's turns."""
    server = flavor.server
    parent = await flavor.create()
    await parent.send("shared")
    child = await parent.fork()
    await child.send("child only")
    await parent.send("parent only")

    assert child.native_id != parent.native_id
    assert [t for _, t in server.texts(child.native_id)] == [
        "shared",
        "re: shared",
        "child only",
        "re: child only",
    ]
    assert [t for _, t in server.texts(parent.native_id)] == [
        "shared",
        "re: shared",
        "parent only",
        "re: parent only",
    ]


async def test_hand_off_from_echo_continues_with_the_full_history(flavor: Flavor) -> None:
    """``fork(provider="openai")`` from an echo session: the new conversation is
    seeded with the echo turns, then the first OpenAI turn runs in it."""
    server = flavor.server
    manager = flavor.manager()
    s = await manager.create(provider="echo")
    await _turns(s, 2)

    other = await s.fork(provider="openai")
    reply = await other.send("now openai")

    assert other.model == "gpt-5.5"
    assert reply.text == "re: now openai"
    assert server.texts(other.native_id) == [
        ("user", "turn 0"),
        ("assistant", "echo: turn 0"),
        ("user", "turn 1"),
        ("assistant", "echo: turn 1"),
        ("user", "now openai"),
        ("assistant", "re: now openai"),
    ]


async def test_hand_off_to_echo_continues_with_the_full_history(flavor: Flavor) -> None:
    """``fork(provider="echo")`` from an OpenAI session: echo receives the whole
    mirrored history (it seeds its own state from it, counted in its usage)."""
    echo = EchoProvider()
    manager = flavor.manager(providers=[echo])
    s = await manager.create(provider="openai")
    await _turns(s, 2)

    other = await s.fork(provider="echo")
    reply = await other.send("now echo")

    assert reply.text == "echo: now echo"
    [held] = echo.conversations.values()
    assert [m.text for m in held] == [
        "turn 0",
        "re: turn 0",
        "turn 1",
        "re: turn 1",
        "now echo",
        "echo: now echo",
    ]
    assert flavor.events("threadline.native.reseed")[-1] == {"reason": "stale", "items": 4}


async def test_delete_removes_the_server_conversation(flavor: Flavor) -> None:
    """``delete()`` deletes the OpenAI conversation along with the local session."""
    server = flavor.server
    s = await flavor.create()
    await s.send("hi")
    conversation = s.native_id

    await s.delete()

    assert conversation not in server.conversations
    assert [c.path for c in server.requests("DELETE", f"/v1/conversations/{conversation}")] == [
        f"/v1/conversations/{conversation}"
    ]


async def test_deleting_a_conversation_the_server_already_lost_is_quiet(
    flavor: Flavor, caplog: pytest.LogCaptureFixture
) -> None:
    """A 404 on delete means the conversation is already gone: no warning, no error."""
    server = flavor.server
    manager = flavor.manager()
    s = await manager.create(provider="openai")
    await s.send("hi")
    server.conversations.clear()

    await s.delete()

    assert await manager.list() == []
    assert "could not delete" not in caplog.text


async def test_a_failed_server_delete_still_deletes_locally(
    flavor: Flavor, caplog: pytest.LogCaptureFixture
) -> None:
    """Server-side state is a cache: if deleting it fails, the session is still gone."""
    server = flavor.server
    manager = flavor.manager()
    s = await manager.create(provider="openai")
    await s.send("hi")
    server.delete_status = 500

    await s.delete()

    assert await manager.list() == []
    assert len(server.requests("DELETE", f"/v1/conversations/{s.native_id}")) == 1
    assert "could not delete server-side state" in caplog.text


async def test_cleanup_expired_deletes_server_conversations(
    flavor: Flavor, move_clock: Any
) -> None:
    """Expired sessions take their OpenAI conversations with them; live ones keep theirs."""
    server = flavor.server
    manager = flavor.manager()
    short = await manager.create(provider="openai", ttl=timedelta(seconds=1))
    long = await manager.create(provider="openai", ttl=timedelta(hours=1))
    await short.send("goes")
    await long.send("stays")
    move_clock(timedelta(seconds=5))

    removed = await manager.cleanup_expired()

    assert removed == 1
    assert list(server.conversations) == [long.native_id]


async def test_local_mode_keeps_no_server_state_to_delete(flavor: Flavor) -> None:
    """A local-mode session has no native handle; deleting it calls nothing remote."""
    server = flavor.server
    s = await flavor.create(mode="local")
    await s.send("hi")
    await s.delete()
    assert server.requests("DELETE", "/v1/conversations") == []
    assert all(c.method != "DELETE" for c in server.calls)


def test_usage_is_summed_as_threadline_usage() -> None:
    """(Sanity) `tl.Usage` adds up per field, as the session total relies on."""
    total = tl.Usage(input_tokens=1, output_tokens=2, cached_input_tokens=1) + tl.Usage(
        input_tokens=3
    )
    assert total == tl.Usage(input_tokens=4, output_tokens=2, cached_input_tokens=1)
