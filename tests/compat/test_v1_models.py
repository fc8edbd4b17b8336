"""The v1 data model: field order, dictionary keys, enums legacy code compares with
strings, history helpers and the session object."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest

from threadline_v1 import (
    ConversationHistory,
    ConversationMessage,
    LangSwarmSession,
    MessageRole,
    SessionControl,
    SessionMetadata,
    SessionStatus,
)


def test_enums_are_strings_legacy_code_can_compare() -> None:
    """``msg.role == "user"`` works and the values are v1's."""
    assert [s.value for s in SessionStatus] == ["active", "inactive", "archived", "expired"]
    assert [c.value for c in SessionControl] == ["native", "langswarm", "hybrid"]
    assert [r.value for r in MessageRole] == ["system", "user", "assistant", "tool", "function"]
    assert MessageRole.USER == "user" and SessionStatus.ARCHIVED == "archived"
    assert json.dumps({"role": MessageRole.TOOL}) == '{"role": "tool"}'


def test_message_fields_in_v1_order_and_plain_string_roles() -> None:
    """Positional construction follows v1; a plain role string becomes the enum."""
    when = datetime(2025, 3, 1, 12, 30, 5, 123456)
    message = ConversationMessage("m1", "user", "hi", when, {"k": 1}, None, "c1", "p1")
    assert message.role is MessageRole.USER
    assert message.to_dict() == {
        "id": "m1",
        "role": "user",
        "content": "hi",
        "timestamp": "2025-03-01T12:30:05.123456",
        "metadata": {"k": 1},
        "tool_calls": None,
        "tool_call_id": "c1",
        "provider_message_id": "p1",
    }
    assert ConversationMessage.from_dict(message.to_dict()) == message
    with pytest.raises(ValueError, match="developer"):
        ConversationMessage("m2", "developer", "x")


def test_message_without_text_is_empty_not_none() -> None:
    """A tool-call-only reply (content None) counts zero words instead of crashing."""
    history = ConversationHistory("s")
    history.add_message(ConversationMessage("m", MessageRole.ASSISTANT, None))  # type: ignore[arg-type]
    assert history.messages[0].content == "" and history.total_tokens == 0


def test_metadata_round_trip_with_enum_values_and_iso_times() -> None:
    meta = SessionMetadata(
        "u",
        "s",
        "openai",
        "gpt-4o",
        created_at=datetime(2025, 1, 2, 3, 4, 5),
        updated_at=datetime(2025, 1, 3),
        status=SessionStatus.INACTIVE,
        last_activity=datetime(2025, 1, 3),
        tags=["a"],
        custom_metadata={"x": [1, 2]},
    )
    data = meta.to_dict()
    assert list(data) == [
        "user_id", "session_id", "provider", "model", "created_at", "updated_at", "status",
        "session_control", "provider_thread_id", "provider_conversation_id",
        "provider_agent_id", "context_limit", "auto_truncate", "summarization_enabled",
        "message_count", "total_tokens", "last_activity", "tags", "custom_metadata",
    ]  # fmt: skip
    assert (data["status"], data["session_control"]) == ("inactive", "hybrid")
    assert data["created_at"] == "2025-01-02T03:04:05"
    assert SessionMetadata.from_dict(data) == meta


def test_history_helpers() -> None:
    """Word-count tokens, newest messages, messages strictly after a time, truncation."""
    t0 = datetime(2025, 1, 1)
    history = ConversationHistory("s")
    history.add_message(ConversationMessage("sys", MessageRole.SYSTEM, "be kind", t0))
    for i in range(1, 6):
        history.add_message(
            ConversationMessage(f"m{i}", MessageRole.USER, f"message {i}", t0 + timedelta(i))
        )
    assert history.total_tokens == 2 + 5 * 2
    assert [m.id for m in history.get_recent_messages(2)] == ["m4", "m5"]
    assert [m.id for m in history.get_messages_since(t0 + timedelta(3))] == ["m4", "m5"]
    history.truncate_to_limit(3)
    assert [m.id for m in history.messages] == ["sys", "m4", "m5"]
    assert history.truncated_at is not None
    history.truncate_to_limit(1)  # the system message alone fills the limit
    assert [m.id for m in history.messages] == ["sys"]
    again = ConversationHistory.from_dict(history.to_dict())
    assert again == history


def test_session_ids_attributes_and_messages() -> None:
    session = LangSwarmSession("alice")
    assert re.fullmatch(r"session_[0-9a-f]{8}", session.session_id)
    assert (session.provider, session.model) == ("openai", "gpt-4o")
    assert session._strategy is None and session._adapter is None and session._manager is None
    before = session.metadata.updated_at
    first = session.add_message("hello there", "user", metadata={"lang": "en"})
    calls = [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    second = session.add_message("", MessageRole.ASSISTANT, tool_calls=calls)
    third = session.add_message("4", MessageRole.TOOL, tool_call_id="c")
    assert re.fullmatch(r"msg_[0-9a-f]{8}", first.id) and first.metadata == {"lang": "en"}
    assert session.message_count == session.metadata.message_count == 3
    assert session.metadata.updated_at >= before and session.metadata.last_activity is not None
    assert session.get_messages() == [first, second, third]
    assert session.get_messages(limit=2) == [second, third]
    assert session.get_messages(limit=0) == [first, second, third]
    assert session.get_messages_for_api() == [
        {"role": "user", "content": "hello there"},
        {"role": "assistant", "content": "", "tool_calls": calls},
        {"role": "tool", "content": "4", "tool_call_id": "c"},
    ]


def test_session_kwargs_naming_metadata_fields_set_them() -> None:
    """Including ``tags`` and ``custom_metadata``, which v1 silently dropped."""
    session = LangSwarmSession(
        "u",
        "s1",
        provider="mistral",
        context_limit=8,
        auto_truncate=False,
        provider_agent_id="ag",
        tags=["t"],
        custom_metadata={"team": "x"},
        unknown_option=1,
    )
    meta = session.metadata
    assert (meta.context_limit, meta.auto_truncate, meta.provider_agent_id) == (8, False, "ag")
    assert (meta.tags, meta.custom_metadata) == (["t"], {"team": "x"})


def test_session_lifecycle_and_round_trip() -> None:
    session = LangSwarmSession("u", "s1", provider="claude", model="c", tags=["x"])
    session.add_message("hi", MessageRole.USER)
    assert session.is_active
    session.archive()
    assert not session.is_active and session.metadata.status is SessionStatus.ARCHIVED
    session.reactivate()
    assert session.is_active
    data = session.to_dict()
    assert set(data) == {"metadata", "history"}
    copy = LangSwarmSession.from_dict(json.loads(json.dumps(data)))
    assert copy.to_dict() == data
