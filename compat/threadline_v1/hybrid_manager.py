"""`HybridSessionManager` (`langswarm.core.session.hybrid_manager`), reproduced.

The v1 manager plus a search index: every session and message added through it is
also written to an "enhanced" adapter (see `threadline_v1.adapters_bridge`), which
answers conversation search, analytics and similar-conversation queries. Without an
adapter those return empty results, as in v1. Index documents carry message text, so
they are logged by count only.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from .adapters_bridge import DatabaseAdapter, HybridAdapterFactory, MockSessionAdapter
from .manager import LangSwarmSessionManager
from .models import ConversationMessage, LangSwarmSession, MessageRole
from .storage import SessionStorage, SessionStorageFactory

__all__ = ["HybridSessionManager", "HybridSessionManagerFactory"]

logger = logging.getLogger("threadline.v1")


def _message_filter(**equal: str | None) -> dict[str, Any]:
    conditions = [{"field": "type", "operator": "==", "value": "message"}]
    conditions += [
        {"field": name, "operator": "==", "value": value} for name, value in equal.items() if value
    ]
    return {"conditions": conditions}


class HybridSessionManager(LangSwarmSessionManager):
    """v1's manager, with an optional search index beside the storage."""

    def __init__(
        self,
        storage: SessionStorage | None = None,
        enhanced_adapter: DatabaseAdapter | None = None,
        enable_semantic_search: bool = True,
        enable_analytics: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(storage=storage, **kwargs)
        self.enhanced_adapter = enhanced_adapter
        self.enable_semantic_search = enable_semantic_search
        self.enable_analytics = enable_analytics
        self.enhanced_available = enhanced_adapter is not None

    def create_session(self, *args: Any, **kwargs: Any) -> LangSwarmSession:
        session = super().create_session(*args, **kwargs)
        if self.enhanced_adapter is not None:
            self._index(
                f"session:{session.session_id}",
                f"Session {session.session_id} for user {session.user_id}",
                {
                    "type": "session",
                    "session_id": session.session_id,
                    "user_id": session.user_id,
                    "provider": session.provider,
                    "model": session.model,
                    "created_at": session.metadata.created_at.isoformat(),
                },
            )
        return session

    def add_message_to_session(
        self, session_id: str, content: str, role: MessageRole | str, **kwargs: Any
    ) -> ConversationMessage | None:
        message = super().add_message_to_session(session_id, content, role, **kwargs)
        session = self.get_session(session_id)
        if message is not None and session is not None and self.enable_semantic_search:
            self._index_message(session, message)
        return message

    def send_message(
        self, session_id: str, message: str, role: MessageRole | str = MessageRole.USER
    ) -> ConversationMessage:
        # v1 left turns out of the index; indexing both sides makes them searchable.
        reply = super().send_message(session_id, message, role)
        session = self.get_session(session_id)
        if session is not None and self.enable_semantic_search:
            for sent in session.history.messages[-2:]:
                self._index_message(session, sent)
        return reply

    def _index(self, key: str, text: str, metadata: dict[str, Any]) -> None:
        if self.enhanced_adapter is None:
            return
        try:
            self.enhanced_adapter.add_documents([{"key": key, "text": text, "metadata": metadata}])
        except Exception as exc:
            logger.warning("search index write failed: %s", type(exc).__name__)

    def _index_message(self, session: LangSwarmSession, message: ConversationMessage) -> None:
        self._index(
            f"message:{message.id}",
            message.content,
            {
                "type": "message",
                "session_id": session.session_id,
                "message_id": message.id,
                "role": message.role.value,
                "timestamp": message.timestamp.isoformat(),
                "user_id": session.user_id,
                "provider": session.provider,
                "model": session.model,
            },
        )

    def search_conversation_history(
        self,
        query: str,
        user_id: str | None = None,
        session_id: str | None = None,
        limit: int = 10,
    ) -> list[dict[str, Any]]:
        if self.enhanced_adapter is None or not self.enable_semantic_search:
            return []
        try:
            results = self.enhanced_adapter.query(
                query=query,
                filters=_message_filter(user_id=user_id, session_id=session_id),
                k=limit,
            )
        except Exception as exc:
            logger.error("conversation search failed: %s", type(exc).__name__)
            return []
        found = []
        for result in results:
            metadata = result.get("metadata", {})
            found.append(
                {
                    "content": result.get("text", ""),
                    "session_id": metadata.get("session_id"),
                    "role": metadata.get("role"),
                    "timestamp": metadata.get("timestamp"),
                    "user_id": metadata.get("user_id"),
                    "provider": metadata.get("provider"),
                    "model": metadata.get("model"),
                    "relevance_score": result.get("score"),
                }
            )
        return found

    def get_conversation_analytics(
        self, user_id: str | None = None, time_range_days: int = 30
    ) -> dict[str, Any]:
        if self.enhanced_adapter is None or not self.enable_analytics:
            return {}
        filters = _message_filter(user_id=user_id)
        cutoff = (datetime.now() - timedelta(days=time_range_days)).isoformat()
        filters["conditions"].append({"field": "timestamp", "operator": ">=", "value": cutoff})
        try:
            # The empty query matches every message (v1 asked for the literal words
            # "conversation analytics", which found nothing on a substring index).
            results = self.enhanced_adapter.query(query="", filters=filters, k=10000)
        except Exception as exc:
            logger.error("conversation analytics failed: %s", type(exc).__name__)
            return {"error": str(exc)}
        providers: dict[str, int] = {}
        roles: dict[str, int] = {}
        topics: dict[str, int] = {}
        sessions = set()
        for result in results:
            metadata = result.get("metadata", {})
            provider = metadata.get("provider", "unknown")
            role = metadata.get("role", "unknown")
            providers[provider] = providers.get(provider, 0) + 1
            roles[role] = roles.get(role, 0) + 1
            if metadata.get("session_id"):
                sessions.add(metadata["session_id"])
            for word in str(result.get("text", "")).lower().split():
                if len(word) > 4:
                    topics[word] = topics.get(word, 0) + 1
        top = sorted(topics.items(), key=lambda item: item[1], reverse=True)[:10]
        return {
            "time_range_days": time_range_days,
            "total_messages": len(results),
            "unique_sessions": len(sessions),
            "provider_distribution": providers,
            "role_distribution": roles,
            "top_topics": dict(top),
            "average_messages_per_session": len(results) / len(sessions) if sessions else 0,
            "enhanced_features_enabled": True,
        }

    def find_similar_conversations(self, session_id: str, limit: int = 5) -> list[dict[str, Any]]:
        if self.enhanced_adapter is None:
            return []
        session = self.get_session(session_id)
        if session is None:
            return []
        filters = {
            "conditions": [
                {"field": "type", "operator": "==", "value": "message"},
                {"field": "session_id", "operator": "!=", "value": session_id},
            ]
        }
        best: dict[str, dict[str, Any]] = {}
        try:
            # One query per recent message: a substring index never matches the three
            # joined together, which is what v1 asked for.
            for recent in session.get_messages(limit=3):
                for result in self.enhanced_adapter.query(
                    query=recent.content, filters=filters, k=limit * 3
                ):
                    metadata = result.get("metadata", {})
                    other = metadata.get("session_id")
                    score = result.get("score", 0)
                    if (
                        other
                        and other != session_id
                        and score > best.get(other, {"score": -1})["score"]
                    ):
                        best[other] = {
                            "session_id": other,
                            "score": score,
                            "sample_content": str(result.get("text", ""))[:100],
                            "user_id": metadata.get("user_id"),
                            "provider": metadata.get("provider"),
                        }
        except Exception as exc:
            logger.error("similar conversation search failed: %s", type(exc).__name__)
            return []
        return sorted(best.values(), key=lambda found: found["score"], reverse=True)[:limit]


class HybridSessionManagerFactory:
    @classmethod
    def create_hybrid_manager(
        cls,
        enhanced_backend: str = "chromadb",
        basic_storage_type: str = "sqlite",
        **kwargs: Any,
    ) -> HybridSessionManager:
        """A hybrid manager on ``basic_storage_type`` storage with ``enhanced_backend``
        search; a backend that cannot be built leaves it in basic mode (logged)."""
        storage_options = {k: kwargs.pop(k) for k in ("db_path", "store") if k in kwargs}
        manager_options = {k: kwargs.pop(k) for k in _MANAGER_OPTIONS if k in kwargs}
        storage = SessionStorageFactory.create_storage(basic_storage_type, **storage_options)
        adapter: DatabaseAdapter | None
        if enhanced_backend == "mock":
            adapter = MockSessionAdapter(**kwargs)
        else:
            # What is left configures the backend, as in v1.
            adapter = HybridAdapterFactory.create_adapter(enhanced_backend, **kwargs)
            if adapter is None:
                logger.warning("falling back to basic session management")
        return HybridSessionManager(storage=storage, enhanced_adapter=adapter, **manager_options)


_MANAGER_OPTIONS = (
    "default_session_control",
    "providers",
    "threadline",
    "enable_semantic_search",
    "enable_analytics",
)
