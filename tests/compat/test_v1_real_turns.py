"""The shim over real threadline providers: ``send_message`` runs a threadline turn
(echo, and OpenAI through the fake server) and the turn is mirrored in the store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openai_fake import FakeOpenAI

import threadline as tl
from threadline_v1 import (
    InMemorySessionStorage,
    LangSwarmSessionManager,
    MessageRole,
    SessionControl,
    ThreadlineSessionStorage,
)


def pairs(thread: tl.ConversationSession) -> list[tuple[str, str]]:
    return [(m.role, m.text) for m in thread.messages]


def test_send_message_is_a_mirrored_echo_turn(echo_manager: LangSwarmSessionManager) -> None:
    s = echo_manager.create_session(
        "alice", provider="echo", model="echo-1", session_control=SessionControl.HYBRID
    )
    reply = echo_manager.send_message(s.session_id, "Hello there")
    assert reply.content == "echo: Hello there" and reply.role is MessageRole.ASSISTANT
    thread = echo_manager.threadline_session(s.session_id)
    assert thread.id == s.session_id and thread.user == "alice" and thread.mode == "native"
    assert pairs(thread) == [("user", "Hello there"), ("assistant", "echo: Hello there")]
    # The v1 messages are the mirrored ones: same ids, same provider ids.
    assert [m.id for m in s.history.messages] == [m.id for m in thread.messages]
    assert reply.provider_message_id == thread.messages[-1].provider_id is not None
    assert s.metadata.total_tokens == thread.usage.total_tokens == 2 + 3
    native, version = thread.native_id, thread.version

    second = echo_manager.send_message(s.session_id, "And again")
    thread = echo_manager.threadline_session(s.session_id)
    assert second.content == "echo: And again"
    # Continued in place: one more version, the same server-side conversation.
    assert (thread.version, thread.native_id) == (version + 1, native)
    assert s.metadata.total_tokens == thread.usage.total_tokens
    assert len(s.history.messages) == len(thread.messages) == 4


def test_a_history_changed_outside_turns_is_brought_in_line(
    echo_manager: LangSwarmSessionManager,
) -> None:
    s = echo_manager.create_session("alice", provider="echo", model="echo-1")
    echo_manager.send_message(s.session_id, "first")
    echo_manager.add_message_to_session(s.session_id, "Context: be brief", MessageRole.USER)
    echo_manager.add_message_to_session(s.session_id, "Noted.", MessageRole.ASSISTANT)
    echo_manager.send_message(s.session_id, "second")
    thread = echo_manager.threadline_session(s.session_id)
    assert pairs(thread) == [
        ("user", "first"),
        ("assistant", "echo: first"),
        ("user", "Context: be brief"),
        ("assistant", "Noted."),
        ("user", "second"),
        ("assistant", "echo: second"),
    ]
    assert [m.to_dict() for m in s.history.messages][-1]["content"] == "echo: second"


def test_a_failed_turn_leaves_both_sides_as_they_were() -> None:
    echo = tl.providers.EchoProvider(
        faults=[tl.AuthenticationError("bad key", provider="echo", status_code=401)]
    )
    manager = LangSwarmSessionManager(storage=InMemorySessionStorage(), providers=[echo])
    s = manager.create_session("alice", provider="echo", model="echo-1")
    with pytest.raises(tl.AuthenticationError, match=r"^echo 401: bad key$"):
        manager.send_message(s.session_id, "lost")
    assert s.history.messages == [] and s.metadata.message_count == 0
    assert manager.send_message(s.session_id, "kept").content == "echo: kept"
    assert pairs(manager.threadline_session(s.session_id)) == [
        ("user", "kept"),
        ("assistant", "echo: kept"),
    ]
    with pytest.raises(ValueError, match="user message"):
        manager.send_message(s.session_id, "as the system", role=MessageRole.SYSTEM)
    manager.close()


def test_turns_on_the_threadline_storage_are_the_stored_session(tmp_path: Path) -> None:
    """With a threadline-backed storage, the turn is written once, by threadline."""
    url = f"sqlite:///{tmp_path / 'tl.db'}"
    storage = ThreadlineSessionStorage(url, providers=[tl.providers.EchoProvider()])
    manager = LangSwarmSessionManager(storage=storage)
    assert manager.threadline is storage.threadline
    s = manager.create_session("alice", provider="echo", model="echo-1", tags=["demo"])
    manager.send_message(s.session_id, "one")
    manager.send_message(s.session_id, "two")
    thread = storage.threadline.get(s.session_id)
    assert thread.version == 3  # imported, then two turns: no rewrites between them
    assert pairs(thread)[-1] == ("assistant", "echo: two")
    storage.close()

    with tl.SessionManager(url) as fresh:  # another process opening the same store
        again = fresh.get(s.session_id, user="alice")
        assert pairs(again) == pairs(thread) and again.metadata["tags"] == ["demo"]
    reopened = ThreadlineSessionStorage(url)
    loaded = reopened.load_session(s.session_id)
    assert loaded is not None
    assert [m.to_dict() for m in loaded.history.messages] == [
        m.to_dict() for m in s.history.messages
    ]
    assert loaded.metadata.total_tokens == s.metadata.total_tokens == thread.usage.total_tokens
    reopened.close()


def test_the_manager_refuses_ambiguous_provider_settings(tmp_path: Path) -> None:
    storage = ThreadlineSessionStorage("memory://")
    with pytest.raises(ValueError, match="ThreadlineSessionStorage"):
        LangSwarmSessionManager(storage=storage, providers=[tl.providers.EchoProvider()])
    assert LangSwarmSessionManager(storage=storage).threadline is None  # offline replies
    with tl.SessionManager("memory://") as mine:
        with pytest.raises(ValueError, match="register"):
            LangSwarmSessionManager(threadline=mine, providers=[])
        assert LangSwarmSessionManager(storage=storage, threadline=mine).threadline is mine
    storage.close()


@pytest.fixture
def openai_manager() -> Iterator[tuple[LangSwarmSessionManager, FakeOpenAI]]:
    server = FakeOpenAI()
    provider = tl.providers.OpenAIProvider(client=server.client(sync=True))
    manager = LangSwarmSessionManager(storage=InMemorySessionStorage(), providers=[provider])
    yield manager, server
    manager.close()


def test_send_message_on_openai_continues_one_server_conversation(
    openai_manager: tuple[LangSwarmSessionManager, FakeOpenAI],
) -> None:
    manager, server = openai_manager
    s = manager.create_session("alice", provider="openai", model="gpt-4o")
    assert s.metadata.session_control is SessionControl.HYBRID
    assert manager.send_message(s.session_id, "Hello").content == "re: Hello"
    assert manager.send_message(s.session_id, "More").content == "re: More"
    thread = manager.threadline_session(s.session_id)
    assert thread.native_id is not None and thread.native_id.startswith("conv_")
    assert server.texts(thread.native_id) == [
        ("user", "Hello"),
        ("assistant", "re: Hello"),
        ("user", "More"),
        ("assistant", "re: More"),
    ]
    bodies: list[dict[str, Any]] = server.response_bodies
    assert [b["conversation"] for b in bodies] == [thread.native_id] * 2
    # The second request carries only the new message, not the history.
    assert len(bodies[1]["input"]) == 1
    assert s.metadata.total_tokens == thread.usage.total_tokens > 0
    assert [m.provider_message_id for m in s.history.messages] == [
        m.provider_id for m in thread.messages
    ]


def test_openai_turns_with_reasoning_keep_the_views_in_step(
    openai_manager: tuple[LangSwarmSessionManager, FakeOpenAI],
) -> None:
    """Provider-only output (reasoning) stays in threadline; v1 sees the text."""
    manager, server = openai_manager
    server.reasoning = True
    s = manager.create_session("alice", provider="openai", model="gpt-4o")
    manager.send_message(s.session_id, "Think")
    first = manager.threadline_session(s.session_id)
    manager.send_message(s.session_id, "Again")
    second = manager.threadline_session(s.session_id)
    assert second.native_id == first.native_id and second.version == first.version + 1
    assert [m.content for m in s.history.messages] == ["Think", "re: Think", "Again", "re: Again"]


def test_a_provider_threadline_lacks_fails_the_turn_clearly(
    echo_manager: LangSwarmSessionManager,
) -> None:
    s = echo_manager.create_session("alice", provider="cohere", model="command")
    with pytest.raises(tl.ConfigurationError, match="cohere"):
        echo_manager.send_message(s.session_id, "hi")
    assert s.history.messages == []
