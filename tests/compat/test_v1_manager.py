"""`LangSwarmSessionManager` as legacy code uses it, on each v1 storage: caches holding
the same live object, offline turns, the patchable provider seam, housekeeping."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest

from threadline_v1 import (
    ClaudeSessionAdapter,
    ClientSideSessionStrategy,
    HybridSessionStrategy,
    InMemorySessionStorage,
    LangSwarmSession,
    LangSwarmSessionManager,
    MessageRole,
    OpenAISessionAdapter,
    SessionControl,
    SessionStatus,
    SQLiteSessionStorage,
)
from threadline_v1.manager import get_session_manager, set_session_manager
from threadline_v1.storage import SessionStorage


def test_create_session_defaults_and_references(manager: LangSwarmSessionManager) -> None:
    """The recommended control, strategy and adapter objects from the caches."""
    s = manager.create_session("alice")
    assert re.fullmatch(r"session_[0-9a-f]{8}", s.session_id)
    assert s.metadata.session_control is SessionControl.HYBRID
    assert isinstance(s._strategy, HybridSessionStrategy)
    assert isinstance(s._adapter, OpenAISessionAdapter) and s._manager is manager
    claude = manager.create_session("bob", provider="claude", model="claude-x")
    assert claude.metadata.session_control is SessionControl.LANGSWARM
    assert isinstance(claude._strategy, ClientSideSessionStrategy)
    assert isinstance(claude._adapter, ClaudeSessionAdapter)
    assert manager._strategy_cache[SessionControl.HYBRID] is s._strategy
    assert manager._adapter_cache[("openai", "gpt-4o")] is s._adapter
    explicit = manager.create_session("c", session_id="mine", session_control=SessionControl.NATIVE)
    assert explicit.session_id == "mine"


def test_the_same_live_object_is_returned_and_mutated(manager: LangSwarmSessionManager) -> None:
    s = manager.create_session("alice", tags=["a"])
    assert manager.get_session(s.session_id) is s
    assert manager._active_sessions[s.session_id] is s
    message = manager.add_message_to_session(s.session_id, "note", MessageRole.USER)
    assert message is not None and s.history.messages[-1] is message
    reply = manager.send_message(s.session_id, "Hello")
    assert s.history.messages[-1] is reply and s.message_count == 3


def test_unknown_provider_is_refused_before_anything_is_saved(
    manager: LangSwarmSessionManager, storage: SessionStorage
) -> None:
    with pytest.raises(ValueError, match="No session adapter available for provider: llama"):
        manager.create_session("alice", provider="llama", session_id="s_llama")
    assert storage.load_session("s_llama") is None
    with pytest.raises(ValueError, match="session_id"):
        manager.create_session("alice", session_id="bad\nid")


def test_offline_turns_give_v1_canned_replies_and_token_totals(
    manager: LangSwarmSessionManager, storage: SessionStorage
) -> None:
    s = manager.create_session("alice")
    reply = manager.send_message(s.session_id, "Hello there")
    assert reply.role is MessageRole.ASSISTANT
    assert reply.content == "This is a mock response from the assistant."
    assert reply.id.startswith("openai_mock_") and reply.provider_message_id is not None
    assert [m.role.value for m in s.history.messages] == ["user", "assistant"]
    assert s.metadata.total_tokens == 50
    claude = manager.create_session("bob", provider="claude", model="c")
    assert manager.send_message(claude.session_id, "x").content == (
        "This is a mock response from Claude."
    )
    gemini = manager.create_session("bob", provider="gemini", model="g")
    assert manager.send_message(gemini.session_id, "x").content == (
        "This is a mock response from Gemini."
    )
    stored = storage.load_session(s.session_id)
    assert stored is not None
    assert [m.content for m in stored.history.messages] == [
        "Hello there",
        "This is a mock response from the assistant.",
    ]
    assert stored.metadata.total_tokens == 50


def test_send_message_to_an_unknown_session_raises() -> None:
    manager = LangSwarmSessionManager(storage=InMemorySessionStorage())
    with pytest.raises(ValueError, match="Session nope not found"):
        manager.send_message("nope", "hi")


def test_the_provider_seam_can_be_patched_with_plain_dicts(
    manager: LangSwarmSessionManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Legacy tests replace ``_simulate_provider_response``; any shape is read."""
    seen: list[dict[str, Any]] = []

    def fake(session: LangSwarmSession, request_params: dict[str, Any]) -> dict[str, Any]:
        seen.append(request_params)
        return {
            "id": "r1",
            "choices": [{"message": {"content": "patched reply"}}],
            "usage": {"total_tokens": 12},
        }

    monkeypatch.setattr(manager, "_simulate_provider_response", fake)
    s = manager.create_session("alice")
    reply = manager.send_message(s.session_id, "Question?")
    assert reply.content == "patched reply" and reply.provider_message_id == "r1"
    assert s.metadata.total_tokens == 12
    # The request holds the new message once (v1 appended it twice).
    assert seen == [{"model": "gpt-4o", "messages": [{"role": "user", "content": "Question?"}]}]


def test_get_session_loads_from_storage_and_caches_only_active(
    storage: SessionStorage,
) -> None:
    first = LangSwarmSessionManager(storage=storage)
    active = first.create_session("alice", session_id="s_active")
    first.send_message(active.session_id, "hi")
    archived = first.create_session("alice", session_id="s_archived")
    assert first.archive_session(archived.session_id) is True
    assert "s_archived" not in first._active_sessions

    second = LangSwarmSessionManager(storage=storage)
    loaded = second.get_session("s_active")
    assert loaded is not None
    # The in-memory storage keeps the live object itself; the others load a copy.
    assert (loaded is active) == isinstance(storage, InMemorySessionStorage)
    assert [m.content for m in loaded.history.messages] == [
        m.content for m in active.history.messages
    ]
    assert isinstance(loaded._adapter, OpenAISessionAdapter) and loaded._manager is second
    assert second._active_sessions["s_active"] is loaded
    again = second.get_session("s_archived")
    assert again is not None and again.metadata.status is SessionStatus.ARCHIVED
    assert "s_archived" not in second._active_sessions
    assert second.get_session("missing") is None
    assert second.add_message_to_session("missing", "x", "user") is None


def test_list_archive_delete_and_statistics(manager: LangSwarmSessionManager) -> None:
    a = manager.create_session("alice", session_id="a1")
    manager.create_session("alice", provider="claude", model="c", session_id="a2")
    manager.create_session("bob", session_id="b1")
    manager.send_message("a1", "newest")
    listed = manager.list_sessions(user_id="alice")
    assert [m.session_id for m in listed] == ["a1", "a2"]
    assert {m.session_id for m in manager.list_sessions()} == {"a1", "a2", "b1"}
    assert len(manager.list_sessions(limit=2)) == 2
    stats = manager.get_session_statistics()
    assert stats["active_sessions"] == 3
    assert stats["provider_distribution"] == {"openai": 2, "claude": 1}
    assert stats["strategy_distribution"] == {"hybrid": 2, "langswarm": 1}
    assert stats["cache_sizes"] == {"strategies": 2, "adapters": 2}
    assert "cohere" in stats["supported_providers"]
    assert manager.analyze_provider_capabilities("mistral")["native_threading"] is True

    assert manager.archive_session("a1") is True and a.metadata.status is SessionStatus.ARCHIVED
    assert [m.session_id for m in manager.list_sessions(status=SessionStatus.ARCHIVED)] == ["a1"]
    assert manager.archive_session("nope") is False
    assert manager.delete_session("b1") is True and manager.get_session("b1") is None
    assert manager.delete_session("b1") is False


def test_cleanup_removes_sessions_not_updated_for_max_age(
    manager: LangSwarmSessionManager, storage: SessionStorage
) -> None:
    old = manager.create_session("alice", session_id="old")
    manager.create_session("alice", session_id="fresh")
    assert storage.update_session_metadata(
        "old", {"updated_at": datetime.now() - timedelta(days=40)}
    )
    old.metadata.updated_at = datetime.now() - timedelta(days=40)
    assert manager.cleanup_expired_sessions(max_age_days=30) == 1
    assert "old" not in manager._active_sessions and storage.load_session("old") is None
    assert storage.load_session("fresh") is not None


def test_default_manager_and_storage_are_v1s(tmp_path: Any) -> None:
    """Without arguments: one process-wide manager on ``langswarm_sessions.db`` here."""
    manager = get_session_manager()
    assert get_session_manager() is manager
    assert isinstance(manager.storage, SQLiteSessionStorage)
    assert manager.storage.db_path.name == "langswarm_sessions.db"
    assert (tmp_path / "langswarm_sessions.db").exists()
    replacement = LangSwarmSessionManager(storage=InMemorySessionStorage())
    set_session_manager(replacement)
    assert get_session_manager() is replacement
