"""The hybrid manager on the mock search backend, the enhanced storage, and the
optional backends that must fail clearly only when used."""

from __future__ import annotations

import logging
import sys
from datetime import datetime, timedelta

import pytest

from threadline_v1 import (
    HybridAdapterFactory,
    HybridSessionManager,
    HybridSessionManagerFactory,
    InMemorySessionStorage,
    LangSwarmSession,
    MessageRole,
    MockSessionAdapter,
    SessionDatabaseBridge,
    SessionStatus,
    SessionStorageFactory,
    SQLiteSessionStorage,
)
from threadline_v1.bigquery_storage import BigQuerySessionStorage
from threadline_v1.enhanced_storage import EnhancedSessionStorage, EnhancedSessionStorageFactory


@pytest.fixture
def hybrid() -> HybridSessionManager:
    manager = HybridSessionManagerFactory.create_hybrid_manager("mock", "memory")
    assert manager.enhanced_available and isinstance(manager.enhanced_adapter, MockSessionAdapter)
    return manager


def test_search_finds_messages_case_insensitively_with_filters(
    hybrid: HybridSessionManager,
) -> None:
    a = hybrid.create_session("alice", session_id="a")
    b = hybrid.create_session("bob", session_id="b", provider="claude", model="c")
    hybrid.add_message_to_session("a", "How do I reset my Password?", MessageRole.USER)
    hybrid.add_message_to_session("b", "password rules please", MessageRole.USER)
    hybrid.send_message("b", "And the length?")
    found = hybrid.search_conversation_history("PASSWORD")
    assert sorted(r["session_id"] for r in found) == ["a", "b"]
    only_bob = hybrid.search_conversation_history("password", user_id="bob")
    assert [(r["session_id"], r["role"], r["provider"]) for r in only_bob] == [
        ("b", "user", "claude")
    ]
    assert (
        hybrid.search_conversation_history("password", session_id=a.session_id)[0]["content"]
        == "How do I reset my Password?"
    )
    # Turns are indexed too, both sides.
    assert [r["role"] for r in hybrid.search_conversation_history("mock response")] == ["assistant"]
    assert hybrid.search_conversation_history("password", limit=1) != []
    assert b.message_count == 3


def test_analytics_and_similar_conversations(hybrid: HybridSessionManager) -> None:
    for sid, user in (("a", "alice"), ("b", "alice"), ("c", "bob")):
        hybrid.create_session(user, session_id=sid)
    hybrid.add_message_to_session("a", "kubernetes deployment failing", "user")
    hybrid.add_message_to_session("b", "kubernetes deployment failing", "user")
    hybrid.add_message_to_session("c", "weather tomorrow", "user")
    old = datetime.now() - timedelta(days=90)
    hybrid.add_message_to_session("c", "ancient history", "user", timestamp=old)
    stats = hybrid.get_conversation_analytics()
    assert stats["total_messages"] == 3  # the 90-day-old message is out of range
    assert stats["unique_sessions"] == 3 and stats["role_distribution"] == {"user": 3}
    assert stats["top_topics"]["kubernetes"] == 2
    assert stats["average_messages_per_session"] == 1
    assert hybrid.get_conversation_analytics(user_id="alice")["unique_sessions"] == 2
    similar = hybrid.find_similar_conversations("a")
    assert [s["session_id"] for s in similar] == ["b"] and similar[0]["user_id"] == "alice"
    assert hybrid.find_similar_conversations("missing") == []


def test_without_a_backend_results_are_empty() -> None:
    manager = HybridSessionManager(storage=InMemorySessionStorage())
    manager.create_session("alice", session_id="a")
    manager.add_message_to_session("a", "hello", "user")
    assert not manager.enhanced_available
    assert manager.search_conversation_history("hello") == []
    assert manager.get_conversation_analytics() == {}
    assert manager.find_similar_conversations("a") == []


def test_backends_without_their_library_fall_back_to_basic_mode(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="threadline.v1")
    manager = HybridSessionManagerFactory.create_hybrid_manager(
        "chromadb", "sqlite", db_path="basic.db"
    )
    assert manager.enhanced_adapter is None and not manager.enhanced_available
    assert isinstance(manager.storage, SQLiteSessionStorage)
    assert "LangSwarm's memory adapters" in caplog.text
    assert "falling back to basic session management" in caplog.text
    assert HybridAdapterFactory.create_adapter("nosuch") is None
    assert HybridAdapterFactory.create_redis_adapter() is None
    session = manager.create_session("alice")
    assert manager.send_message(session.session_id, "still works").role is MessageRole.ASSISTANT


def test_bridge_translates_documents_and_filters() -> None:
    inner = MockSessionAdapter()
    bridge = SessionDatabaseBridge(inner)
    bridge.add_documents([{"key": "k1", "text": "Hello", "metadata": {"type": "message"}}])
    assert inner.documents[0]["id"] == "k1"
    assert bridge._convert_filters(
        {
            "conditions": [
                {"field": "user_id", "operator": "==", "value": "u"},
                {"field": "session_id", "operator": "!=", "value": "s"},
                {"field": "timestamp", "operator": ">=", "value": "t"},
            ]
        }
    ) == {"user_id": "u", "session_id_not": "s", "timestamp_gte": "t"}


def test_enhanced_storage_over_the_mock_index() -> None:
    index = MockSessionAdapter()
    storage = EnhancedSessionStorage(index)
    session = LangSwarmSession("alice", "s1")
    session.add_message("What is 2+2?", MessageRole.USER)
    session.add_message("4", MessageRole.ASSISTANT)
    session.add_message("And 3+3?", MessageRole.USER)
    assert storage.save_session(session) and storage.save_session(session)
    kinds = sorted(d["metadata"]["type"] for d in index.documents)
    assert kinds == ["conversation", "message", "session"]  # saved twice, stored once
    loaded = storage.load_session("s1")
    assert loaded is not None and loaded.to_dict() == session.to_dict()
    assert [m.session_id for m in storage.list_sessions(user_id="alice")] == ["s1"]
    assert storage.list_sessions(status=SessionStatus.ARCHIVED) == []
    assert storage.update_session_metadata("s1", {"tags": ["math"]})
    assert storage.load_session("s1").metadata.tags == ["math"]  # type: ignore[union-attr]
    assert storage.delete_session("s1") and index.documents == []
    assert storage.load_session("s1") is None and storage.delete_session("s1") is False


def test_optional_backends_fail_clearly_only_when_used() -> None:
    assert "google.cloud.bigquery" not in sys.modules
    with pytest.raises(ImportError, match="pip install google-cloud-bigquery"):
        BigQuerySessionStorage("project", "dataset")
    with pytest.raises(ImportError, match="pip install google-cloud-bigquery"):
        SessionStorageFactory.create_storage("bigquery", project_id="p")
    with pytest.raises(ImportError, match="memory adapters"):
        EnhancedSessionStorageFactory.create_chromadb_storage()
    import threadline_v1.storage as v1_storage

    assert v1_storage.BIGQUERY_AVAILABLE is False
