"""`ThreadlineSessionStorage`: the v1 storage interface over a threadline store.

v1 code keeps its API (``save_session``, ``load_session``, ``list_sessions`` ...)
while its data lives in threadline, as threadline sessions that the native API, the
CLI and every store backend can use. A v1 session is stored under the same id (or
``v1-<hash>`` when threadline refuses the id), converted by `threadline_v1.convert`.

Threadline writes history only through turns and imports, and has no call that edits
a session's metadata. So a save writes nothing when the stored session already says
the same (the common case after a real turn, which threadline mirrored itself),
applies a status change through the lifecycle (``archive``, ``reactivate`` ...), and
otherwise rewrites the session: delete, then import the new state under the same id,
keeping the stored form of every unchanged message. A rewrite drops the provider's
server-side copy, which the next turn re-seeds from the mirror.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import threadline as tl

from .convert import (
    STATUS_TO_THREADLINE,
    STATUS_TO_V1,
    V1_KEY,
    KeptProvider,
    metadata_from_info,
    threadline_id,
    to_threadline_document,
    to_v1_session,
)
from .models import LangSwarmSession, SessionMetadata, SessionStatus
from .storage import SessionStorage, apply_updates

__all__ = ["ThreadlineSessionStorage"]

logger = logging.getLogger("threadline.v1")

# Provider names v1 sessions carry once mapped (claude -> anthropic, ...).
V1_PROVIDERS = ("openai", "anthropic", "google", "mistral", "cohere", "test", "none")

# Status changes a save can make in place: (stored, wanted) -> lifecycle operation.
_TRANSITIONS = {
    (tl.SessionStatus.ACTIVE, tl.SessionStatus.ARCHIVED): "archive",
    (tl.SessionStatus.PAUSED, tl.SessionStatus.ARCHIVED): "archive",
    (tl.SessionStatus.COMPLETED, tl.SessionStatus.ARCHIVED): "archive",
    (tl.SessionStatus.FAILED, tl.SessionStatus.ARCHIVED): "archive",
    (tl.SessionStatus.CANCELLED, tl.SessionStatus.ARCHIVED): "archive",
    (tl.SessionStatus.ARCHIVED, tl.SessionStatus.ACTIVE): "reactivate",
    (tl.SessionStatus.PAUSED, tl.SessionStatus.ACTIVE): "resume",
    (tl.SessionStatus.FAILED, tl.SessionStatus.ACTIVE): "resume",
    (tl.SessionStatus.ACTIVE, tl.SessionStatus.PAUSED): "pause",
}

# What a save compares: fields threadline keeps itself (timestamps, counts) are left out.
_COMPARED = (
    "user_id",
    "provider",
    "model",
    "session_control",
    "provider_thread_id",
    "provider_conversation_id",
    "provider_agent_id",
    "context_limit",
    "auto_truncate",
    "summarization_enabled",
    "total_tokens",
    "tags",
    "custom_metadata",
)


def _usable_builtin(name: str) -> bool:
    try:
        tl.providers.builtin_provider(name)
    except (tl.ThreadlineError, ImportError):
        return False
    return True


def _differences(stored: LangSwarmSession, wanted: LangSwarmSession) -> set[str]:
    found = {f for f in _COMPARED if getattr(stored.metadata, f) != getattr(wanted.metadata, f)}
    if stored.metadata.status != wanted.metadata.status:
        found.add("status")
    if (stored.history.summary, stored.history.truncated_at) != (
        wanted.history.summary,
        wanted.history.truncated_at,
    ):
        found.add("history")
    if [m.to_dict() for m in stored.history.messages] != [
        m.to_dict() for m in wanted.history.messages
    ]:
        found.add("messages")
    return found


class ThreadlineSessionStorage(SessionStorage):
    """v1 storage whose sessions are threadline sessions.

    ``store``: a store URL (``sqlite:///sessions.db``, ``memory://`` ...) or your own
    ``threadline.SessionManager``. With a URL, ``providers`` (threadline provider
    objects) are registered on the manager built here, together with stand-ins for v1
    providers threadline has no adapter for, so their sessions can still be stored.
    ``threadline`` is the manager: the native API over the same sessions.
    """

    def __init__(
        self,
        store: str | tl.SessionManager = "memory://",
        *,
        providers: Iterable[tl.providers.Provider] = (),
    ) -> None:
        given = list(providers)
        if isinstance(store, tl.SessionManager):
            if given:
                raise ValueError("register providers on the SessionManager you pass instead")
            self.threadline = store
            self._owned = False
            self.providers_configured = True
        else:
            names = {p.name for p in given}
            kept = [
                KeptProvider(name)
                for name in V1_PROVIDERS
                if name not in names and not _usable_builtin(name)
            ]
            self.threadline = tl.SessionManager(store, providers=[*given, *kept])
            self._owned = True
            self.providers_configured = bool(given)

    def close(self) -> None:
        """Close the threadline manager if this storage built it."""
        if self._owned:
            self.threadline.close()

    # -- reading ---------------------------------------------------------------------

    def threadline_session(self, session_id: str) -> tl.ConversationSession | None:
        """The threadline session holding v1 session ``session_id``, or None."""
        try:
            found = self.threadline.get(threadline_id(session_id))
        except tl.SessionNotFoundError:
            return None
        recorded = found.metadata.get(V1_KEY, {})
        if isinstance(recorded, dict) and recorded.get("session_id", session_id) != session_id:
            return None  # a session of another v1 id that hashed alike: not this one
        return found

    def load_session(self, session_id: str) -> LangSwarmSession | None:
        try:
            found = self.threadline_session(session_id)
            return None if found is None else to_v1_session(found)
        except Exception as exc:
            _log_failure("load session %.60r", session_id, exc)
            return None

    def list_sessions(
        self,
        user_id: str | None = None,
        status: SessionStatus | None = None,
        limit: int = 100,
    ) -> list[SessionMetadata]:
        """Newest v1 ``updated_at`` first. A migrated session keeps v1's times, which
        threadline's own order does not know, so every matching row is read (records
        only) and sorted here."""
        try:
            wanted = SessionStatus(status) if status else None
            rows: list[tuple[SessionMetadata, tl.SessionInfo]] = []
            cursor: str | None = None
            while True:
                page = self.threadline.list(
                    user=user_id or None,
                    status=STATUS_TO_THREADLINE[wanted] if wanted else None,
                    limit=1000,
                    cursor=cursor,
                    order_by="updated",
                )
                rows += [(metadata_from_info(info), info) for info in page]
                cursor = page.next_cursor
                if cursor is None:
                    break
            rows = [r for r in rows if wanted is None or r[0].status == wanted]
            rows.sort(key=lambda row: row[0].updated_at, reverse=True)
            # The live token total needs the record: read it for the rows returned.
            return [
                metadata_from_info(info, self.threadline.get(info.id)) for _, info in rows[:limit]
            ]
        except Exception as exc:
            _log_failure("list sessions%s", "", exc)
            return []

    # -- writing ---------------------------------------------------------------------

    def save_session(self, session: LangSwarmSession) -> bool:
        return self._save(session)

    def _save(self, session: LangSwarmSession, *, rewrite: bool = False) -> bool:
        try:
            stored = self.threadline_session(session.session_id)
            if stored is None:
                document, _ = to_threadline_document(session)
                self.threadline.import_session(document, keep_id=True)
                return True
            differences = _differences(to_v1_session(stored), session)
            if differences == {"status"} and self._transition(stored, session.metadata.status):
                return True
            if differences or rewrite:
                self._rewrite(stored, session)
            return True
        except Exception as exc:
            _log_failure("save session %.60r", session.session_id, exc)
            return False

    def _transition(self, stored: tl.ConversationSession, wanted: SessionStatus) -> bool:
        target = STATUS_TO_THREADLINE[wanted]
        operation = _TRANSITIONS.get((stored.status, target))
        if operation is None or STATUS_TO_V1[target] != wanted:
            return False  # e.g. v1 "expired": only a rewrite records it
        getattr(stored, operation)()
        return True

    def _rewrite(self, stored: tl.ConversationSession, session: LangSwarmSession) -> None:
        previous = stored.export()
        document, _ = to_threadline_document(session, reuse={m.id: m for m in stored.messages})
        stored.delete()
        try:
            self.threadline.import_session(document, keep_id=True)
        except BaseException:
            # Put the previous state back: a failed save must not lose the session.
            self.threadline.import_session(previous, keep_id=True)
            raise

    def delete_session(self, session_id: str) -> bool:
        try:
            found = self.threadline_session(session_id)
            if found is None:
                return False
            found.delete()
            return True
        except Exception as exc:
            _log_failure("delete session %.60r", session_id, exc)
            return False

    def update_session_metadata(self, session_id: str, metadata: dict[str, Any]) -> bool:
        session = self.load_session(session_id)
        if session is None:
            return False
        try:
            apply_updates(session, metadata)
        except Exception as exc:
            _log_failure("update session %.60r", session_id, exc)
            return False
        # An explicit ``updated_at`` is v1's own clock, which threadline does not let a
        # caller set: a rewrite records it (and cleanup then goes by it).
        return self._save(session, rewrite="updated_at" in metadata)

    def cleanup_expired_sessions(self, max_age_days: int = 30) -> int:
        """Delete sessions whose v1 ``updated_at`` is older than ``max_age_days``."""
        try:
            cutoff = datetime.now() - timedelta(days=max_age_days)
            expired: list[str] = []
            cursor: str | None = None
            while True:
                page = self.threadline.list(limit=1000, cursor=cursor, order_by="updated")
                expired += [i.id for i in page if metadata_from_info(i).updated_at < cutoff]
                cursor = page.next_cursor
                if cursor is None:
                    break
            for session_id in expired:
                self.threadline.delete(session_id)
            return len(expired)
        except Exception as exc:
            _log_failure("clean up expired sessions%s", "", exc)
            return 0


def _log_failure(action: str, subject: str, exc: Exception) -> None:
    logger.error(
        "threadline storage could not " + action + ": %s: %s", subject, type(exc).__name__, exc
    )
