"""`EnhancedSessionStorage` (`langswarm.core.session.enhanced_storage`), reproduced.

v1 storage over a document index (a LangSwarm memory adapter, or anything with
``add_documents``/``query``/``delete`` such as `MockSessionAdapter`): each session is
one document holding its JSON, plus one document per user/assistant exchange for
search. The factory's backends come from LangSwarm's memory package, which threadline
does not ship; asking for one without it raises a clear ImportError.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from .adapters_bridge import load_memory_adapter
from .models import ConversationMessage, LangSwarmSession, MessageRole, SessionMetadata
from .models import SessionStatus as Status
from .storage import SessionStorage, apply_updates, valid_v1_id

__all__ = ["EnhancedSessionStorage", "EnhancedSessionStorageFactory"]

logger = logging.getLogger("threadline.v1")

Pair = tuple[ConversationMessage | None, ConversationMessage | None]


def _pairs(messages: list[ConversationMessage]) -> list[Pair]:
    """User messages with the assistant reply that follows (system and tool skipped)."""
    pairs: list[Pair] = []
    pending: ConversationMessage | None = None
    for message in messages:
        if message.role is MessageRole.USER:
            if pending is not None:
                pairs.append((pending, None))
            pending = message
        elif message.role is MessageRole.ASSISTANT:
            pairs.append((pending, message))
            pending = None
    if pending is not None:
        pairs.append((pending, None))
    return pairs


def _fail(action: str, subject: str, exc: Exception) -> None:
    logger.error("enhanced storage could not %s %.60r: %s", action, subject, type(exc).__name__)


class EnhancedSessionStorage(SessionStorage):
    def __init__(
        self,
        adapter: Any,
        session_collection: str = "sessions",
        history_collection: str = "conversation_history",
    ) -> None:
        self.adapter = adapter
        self.session_collection = session_collection
        self.history_collection = history_collection

    def _session_documents(self, session: LangSwarmSession) -> list[dict[str, Any]]:
        meta = session.metadata
        common = {"session_id": session.session_id, "user_id": session.user_id}
        context = {**common, "provider": session.provider, "model": session.model}
        docs: list[dict[str, Any]] = [
            {
                "key": f"session:{session.session_id}",
                "text": f"Session {session.session_id} for user {session.user_id}",
                "metadata": {
                    "type": "session",
                    **context,
                    "status": meta.status.value,
                    "created_at": meta.created_at.isoformat(),
                    "updated_at": meta.updated_at.isoformat(),
                    "message_count": session.message_count,
                    "session_data": json.dumps(session.to_dict()),
                },
            }
        ]
        for user, reply in _pairs(session.history.messages):
            if user is not None and reply is not None:
                docs.append(
                    {
                        "key": f"conversation:{user.id}_{reply.id}",
                        "text": f"{user.content} -> {reply.content}",
                        "metadata": {
                            "type": "conversation",
                            **context,
                            "user_message_id": user.id,
                            "assistant_message_id": reply.id,
                            "user_timestamp": user.timestamp.isoformat(),
                            "assistant_timestamp": reply.timestamp.isoformat(),
                        },
                        "user_input": user.content,
                        "agent_response": reply.content,
                    }
                )
            elif user is not None:
                docs.append(
                    {
                        "key": f"message:{user.id}",
                        "text": user.content,
                        "metadata": {
                            "type": "message",
                            **context,
                            "message_id": user.id,
                            "role": user.role.value,
                            "timestamp": user.timestamp.isoformat(),
                        },
                        "user_input": user.content,
                        "agent_response": None,
                    }
                )
        return docs

    def save_session(self, session: LangSwarmSession) -> bool:
        try:
            if not valid_v1_id(session.session_id):
                raise ValueError("invalid session id")
            self.adapter.add_documents(self._session_documents(session))
            return True
        except Exception as exc:
            _fail("save session", session.session_id, exc)
            return False

    def _session_filter(self, **equal: Any) -> dict[str, Any]:
        conditions = [{"field": "type", "operator": "==", "value": "session"}]
        conditions += [{"field": k, "operator": "==", "value": v} for k, v in equal.items()]
        return {"conditions": conditions}

    def load_session(self, session_id: str) -> LangSwarmSession | None:
        try:
            if not valid_v1_id(session_id):
                raise ValueError("invalid session id")
            results = self.adapter.query(
                query="", filters=self._session_filter(session_id=session_id), k=1
            )
            if not results:
                return None
            return LangSwarmSession.from_dict(json.loads(results[0]["metadata"]["session_data"]))
        except Exception as exc:
            _fail("load session", session_id, exc)
            return None

    def delete_session(self, session_id: str) -> bool:
        try:
            if not valid_v1_id(session_id):
                raise ValueError("invalid session id")
            filters = {
                "conditions": [{"field": "session_id", "operator": "==", "value": session_id}]
            }
            results = self.adapter.query(query="", filters=filters, k=100000)
            ids = [doc["id"] for doc in results if doc.get("id")]
            if ids:
                self.adapter.delete(ids)
            return bool(ids)
        except Exception as exc:
            _fail("delete session", session_id, exc)
            return False

    def list_sessions(
        self, user_id: str | None = None, status: Status | None = None, limit: int = 100
    ) -> list[SessionMetadata]:
        equal: dict[str, Any] = {}
        if user_id:
            equal["user_id"] = user_id
        if status:
            equal["status"] = Status(status).value
        try:
            results = self.adapter.query(query="", filters=self._session_filter(**equal), k=limit)
            found = [
                SessionMetadata.from_dict(json.loads(r["metadata"]["session_data"])["metadata"])
                for r in results
            ]
        except Exception as exc:
            _fail("list sessions", "", exc)
            return []
        found.sort(key=lambda meta: meta.updated_at, reverse=True)
        return found

    def update_session_metadata(self, session_id: str, metadata: dict[str, Any]) -> bool:
        session = self.load_session(session_id)
        if session is None:
            return False
        apply_updates(session, metadata)
        return self.save_session(session)

    def cleanup_expired_sessions(self, max_age_days: int = 30) -> int:
        cutoff = (datetime.now() - timedelta(days=max_age_days)).isoformat()
        filters = self._session_filter()
        filters["conditions"].append({"field": "updated_at", "operator": "<", "value": cutoff})
        try:
            results = self.adapter.query(query="", filters=filters, k=100000)
        except Exception as exc:
            _fail("clean up sessions", "", exc)
            return 0
        return sum(self.delete_session(r["metadata"]["session_id"]) for r in results)


class EnhancedSessionStorageFactory:
    """v1's backends; each needs LangSwarm's memory package (a clear error otherwise)."""

    @classmethod
    def create_chromadb_storage(
        cls, collection_name: str = "langswarm_sessions", persist_directory: str | None = None
    ) -> EnhancedSessionStorage:
        adapter = load_memory_adapter("chromadb")(
            identifier="session_storage",
            collection_name=collection_name,
            persist_directory=persist_directory,
        )
        return EnhancedSessionStorage(adapter)

    @classmethod
    def create_sqlite_storage(cls, db_path: str = "enhanced_sessions.db") -> EnhancedSessionStorage:
        adapter = load_memory_adapter("sqlite")(identifier="session_storage", db_path=db_path)
        return EnhancedSessionStorage(adapter)

    @classmethod
    def create_redis_storage(
        cls, host: str = "localhost", port: int = 6379, db: int = 0
    ) -> EnhancedSessionStorage:
        adapter = load_memory_adapter("redis")(
            identifier="session_storage", host=host, port=port, db=db
        )
        return EnhancedSessionStorage(adapter)

    @classmethod
    def create_qdrant_storage(
        cls, url: str = "http://localhost:6333", collection_name: str = "langswarm_sessions"
    ) -> EnhancedSessionStorage:
        adapter = load_memory_adapter("qdrant")(
            identifier="session_storage", url=url, collection_name=collection_name
        )
        return EnhancedSessionStorage(adapter)
