"""`LangSwarmSessionManager` (`langswarm.core.session.manager`), over threadline.

It keeps everything legacy code inspects: the caches (``_active_sessions`` holds the
same live objects that later calls mutate), ``_get_strategy``/``_get_adapter``, and
the provider seam ``_simulate_provider_response(session, request_params)`` that
legacy tests patch. Without threadline providers the seam answers offline with v1's
canned replies. Given providers (or a ``threadline.SessionManager``), it runs a real
threadline turn: the v1 session's threadline twin (same id) is brought in line with
the v1 history, the user message is sent with ``session.send()``, and the turn is
mirrored in the threadline store like any other.
"""

from __future__ import annotations

import contextlib
import logging
import types
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import threadline as tl

from .adapters import BaseSessionAdapter, SessionAdapterFactory
from .convert import (
    STATUS_TO_THREADLINE,
    ThreadlineReply,
    threadline_id,
    threadline_provider,
    to_threadline_document,
    to_utc,
    to_v1_messages,
    to_v1_session,
)
from .models import (
    ConversationMessage,
    LangSwarmSession,
    MessageRole,
    SessionControl,
    SessionMetadata,
    SessionStatus,
    new_session_id,
)
from .storage import SessionStorage, get_session_storage, valid_v1_id
from .strategies import SessionStrategy, SessionStrategyFactory
from .threadline_storage import ThreadlineSessionStorage

__all__ = ["LangSwarmSessionManager", "get_session_manager", "set_session_manager"]

logger = logging.getLogger("threadline.v1")

_CANNED = {
    "openai": "This is a mock response from the assistant.",
    "gpt": "This is a mock response from the assistant.",
    "mistral": "This is a mock response from the assistant.",
    "claude": "This is a mock response from Claude.",
    "anthropic": "This is a mock response from Claude.",
    "gemini": "This is a mock response from Gemini.",
    "google": "This is a mock response from Gemini.",
    "cohere": "This is a mock response from Cohere.",
}


def canned_response(provider: str) -> Any:
    """v1's offline reply, shaped like the provider's own response object."""
    ns = types.SimpleNamespace
    response_id = f"mock_{uuid.uuid4().hex[:8]}"
    usage = ns(total_tokens=50, input_tokens=20, output_tokens=30)
    name = provider.lower()
    text = _CANNED.get(name)
    if name in ("openai", "gpt", "mistral"):
        message = ns(content=text, tool_calls=None)
        return ns(id=response_id, provider=provider, choices=[ns(message=message)], usage=usage)
    if name in ("claude", "anthropic"):
        return ns(id=response_id, provider=provider, content=[ns(text=text)], usage=usage)
    if name in ("gemini", "google"):
        parts = ns(parts=[ns(text=text)])
        return ns(id=response_id, provider=provider, candidates=[ns(content=parts)])
    if name == "cohere":
        return ns(id=response_id, provider=provider, text=text, generation_id=response_id)
    return ns(id=response_id, provider=provider)


class LangSwarmSessionManager:
    """v1's session manager. See the module docstring for real turns.

    ``providers``: threadline provider objects (``EchoProvider()``,
    ``OpenAIProvider(client=...)`` ...); turns then run on an in-memory threadline
    manager. ``threadline``: your own ``threadline.SessionManager`` to run and mirror
    turns in. With a `ThreadlineSessionStorage`, turns run in its manager, for real
    when the storage was given providers.
    """

    def __init__(
        self,
        storage: SessionStorage | None = None,
        default_session_control: SessionControl = SessionControl.HYBRID,
        *,
        providers: Iterable[tl.providers.Provider] | None = None,
        threadline: tl.SessionManager | None = None,
    ) -> None:
        self.storage = storage or get_session_storage()
        self.default_session_control = default_session_control
        self._strategy_cache: dict[SessionControl, SessionStrategy] = {}
        self._adapter_cache: dict[tuple[str, str], BaseSessionAdapter] = {}
        self._active_sessions: dict[str, LangSwarmSession] = {}
        self._owns_threadline = False
        self.threadline: tl.SessionManager | None = None
        """The threadline manager real turns run in (None: offline canned replies)."""
        if threadline is not None:
            if providers is not None:
                raise ValueError("register the providers on the SessionManager you pass")
            self.threadline = threadline
        elif isinstance(self.storage, ThreadlineSessionStorage):
            if providers is not None:
                raise ValueError("give the providers to ThreadlineSessionStorage(providers=...)")
            if self.storage.providers_configured:
                self.threadline = self.storage.threadline
        elif providers is not None:
            self.threadline = tl.SessionManager("memory://", providers=list(providers))
            self._owns_threadline = True
        logger.debug("LangSwarm v1 session manager ready (real turns: %s)", bool(self.threadline))

    def close(self) -> None:
        """Close the threadline manager this manager built, if any."""
        if self._owns_threadline and self.threadline is not None:
            self.threadline.close()

    # -- sessions --------------------------------------------------------------------

    def create_session(
        self,
        user_id: str,
        provider: str = "openai",
        model: str = "gpt-4o",
        session_id: str | None = None,
        session_control: SessionControl | None = None,
        **kwargs: Any,
    ) -> LangSwarmSession:
        if not valid_v1_id(user_id) and user_id != "":
            raise ValueError("user_id must be a printable string of at most 512 characters")
        if session_id is not None and not valid_v1_id(session_id):
            raise ValueError("session_id must be a printable string of 1 to 512 characters")
        if session_control is None:
            session_control = SessionStrategyFactory.get_recommended_strategy(provider, model)
        session = LangSwarmSession(
            user_id=user_id,
            session_id=session_id or new_session_id(),
            provider=provider,
            model=model,
            session_control=session_control,
            **kwargs,
        )
        strategy = self._get_strategy(session_control)
        adapter = self._get_adapter(provider, model)  # an unknown provider: ValueError
        session._strategy, session._adapter, session._manager = strategy, adapter, self
        if strategy.should_use_native_sessions(provider, model):
            try:
                adapter.create_session(session)
            except Exception as exc:
                logger.warning("native session setup failed, using client-side: %s", exc)
                session.metadata.session_control = SessionControl.LANGSWARM
                session._strategy = self._get_strategy(SessionControl.LANGSWARM)
        if not self.storage.save_session(session):
            logger.warning("session %s was created but not saved", session.session_id)
        self._active_sessions[session.session_id] = session
        logger.info("created session %s (%s/%s)", session.session_id, provider, model)
        return session

    def get_session(self, session_id: str) -> LangSwarmSession | None:
        if session_id in self._active_sessions:
            return self._active_sessions[session_id]
        session = self.storage.load_session(session_id)
        if session is not None:
            session._strategy = self._get_strategy(session.metadata.session_control)
            session._adapter = self._get_adapter(session.provider, session.model)
            session._manager = self
            if session.metadata.status is SessionStatus.ACTIVE:
                self._active_sessions[session_id] = session
        return session

    def add_message_to_session(
        self, session_id: str, content: str, role: MessageRole | str, **kwargs: Any
    ) -> ConversationMessage | None:
        session = self.get_session(session_id)
        if session is None:
            return None
        message = session.add_message(content, role, **kwargs)
        self.storage.save_session(session)
        return message

    def list_sessions(
        self,
        user_id: str | None = None,
        status: SessionStatus | None = None,
        limit: int = 100,
    ) -> list[SessionMetadata]:
        return self.storage.list_sessions(user_id, status, limit)

    def send_message(
        self, session_id: str, message: str, role: MessageRole | str = MessageRole.USER
    ) -> ConversationMessage:
        """Add ``message`` and return the assistant's reply (see the module docstring)."""
        session = self.get_session(session_id)
        if session is None:
            raise ValueError(f"Session {session_id} not found")
        if self.threadline is not None and MessageRole(role) is not MessageRole.USER:
            raise ValueError("a turn starts with a user message; add others with add_message")
        adapter = session._adapter or self._get_adapter(session.provider, session.model)
        # Built before the message is added, so the request holds it once (v1: twice).
        request_params = adapter.prepare_request(session, message)
        sent = session.add_message(message, role)
        try:
            response = self._simulate_provider_response(session, request_params)
        except BaseException:
            if self.threadline is not None and session.history.messages[-1:] == [sent]:
                # The turn was not mirrored: the v1 history must not keep half of it.
                session.history.messages.pop()
                session.touch()
            raise
        if isinstance(response, ThreadlineReply):
            for earlier in response.messages[:-1]:
                session.history.add_message(earlier)
        reply = adapter.process_response(session, response)
        session.history.add_message(reply)
        session.touch()
        adapter.update_session_from_response(session, response)
        if not self.storage.save_session(session):
            logger.warning("session %s was not saved after a turn", session_id)
        logger.info("processed a message in session %s", session_id)
        return reply

    def archive_session(self, session_id: str) -> bool:
        session = self.get_session(session_id)
        if session is None:
            return False
        session.archive()
        saved = self.storage.save_session(session)
        self._active_sessions.pop(session_id, None)
        return saved

    def delete_session(self, session_id: str) -> bool:
        deleted = self.storage.delete_session(session_id)
        self._active_sessions.pop(session_id, None)
        if self.threadline is not None and not isinstance(self.storage, ThreadlineSessionStorage):
            with contextlib.suppress(tl.SessionNotFoundError, tl.ValidationError):
                self.threadline.delete(threadline_id(session_id))
        return deleted

    def cleanup_expired_sessions(self, max_age_days: int = 30) -> int:
        count = self.storage.cleanup_expired_sessions(max_age_days)
        cutoff = datetime.now().timestamp() - max_age_days * 24 * 60 * 60
        for session_id, session in list(self._active_sessions.items()):
            if session.metadata.updated_at.timestamp() < cutoff:
                del self._active_sessions[session_id]
        return count

    def get_session_statistics(self) -> dict[str, Any]:
        providers: dict[str, int] = {}
        strategies: dict[str, int] = {}
        for session in self._active_sessions.values():
            providers[session.provider] = providers.get(session.provider, 0) + 1
            control = session.metadata.session_control.value
            strategies[control] = strategies.get(control, 0) + 1
        return {
            "active_sessions": len(self._active_sessions),
            "provider_distribution": providers,
            "strategy_distribution": strategies,
            "supported_providers": SessionAdapterFactory.get_supported_providers(),
            "cache_sizes": {
                "strategies": len(self._strategy_cache),
                "adapters": len(self._adapter_cache),
            },
        }

    def analyze_provider_capabilities(self, provider: str) -> dict[str, Any]:
        return SessionStrategyFactory.analyze_provider_capabilities(provider)

    def _get_strategy(self, control: SessionControl) -> SessionStrategy:
        if control not in self._strategy_cache:
            self._strategy_cache[control] = SessionStrategyFactory.create_strategy(control)
        return self._strategy_cache[control]

    def _get_adapter(self, provider: str, model: str) -> BaseSessionAdapter:
        key = (provider.lower(), model)
        if key not in self._adapter_cache:
            self._adapter_cache[key] = SessionAdapterFactory.create_adapter(provider, model)
        return self._adapter_cache[key]

    # -- the provider seam -----------------------------------------------------------

    def _simulate_provider_response(
        self, session: LangSwarmSession, request_params: dict[str, Any]
    ) -> Any:
        """The provider's answer to the turn whose user message was just added.

        Legacy tests patch this and may return any shape. Here: a real threadline turn
        when threadline providers are configured, else v1's canned offline reply.
        """
        if self.threadline is None:
            return canned_response(session.provider)
        return self._threadline_turn(session)

    def threadline_session(self, session_id: str) -> tl.ConversationSession:
        """The threadline session behind a v1 session, in line with its history: the
        native API for the same conversation. Needs real turns to be configured."""
        session = self.get_session(session_id)
        if session is None:
            raise ValueError(f"Session {session_id} not found")
        return self._synced_thread(session, session.history.messages)

    def _synced_thread(
        self, session: LangSwarmSession, history: list[ConversationMessage]
    ) -> tl.ConversationSession:
        """The threadline twin of ``session`` holding exactly ``history``.

        A history changed outside turns (``add_message``, truncation, a patched seam)
        makes the twin rebuild from the v1 session: same id, server-side state
        re-seeded on its next turn.
        """
        manager = self.threadline
        if manager is None:
            raise ValueError("no threadline providers are configured for real turns")
        try:
            thread: tl.ConversationSession | None = manager.get(threadline_id(session.session_id))
        except tl.SessionNotFoundError:
            thread = None
        if thread is not None:
            view = to_v1_session(thread)
            if (
                thread.provider == threadline_provider(session.provider)
                and thread.model == session.model
                and (thread.user or "") == session.user_id
                and thread.status == STATUS_TO_THREADLINE[session.metadata.status]
                and [m.to_dict() for m in view.history.messages] == [m.to_dict() for m in history]
            ):
                return thread
        snapshot = LangSwarmSession.from_dict(session.to_dict())
        snapshot.history.messages = snapshot.history.messages[: len(history)]
        reuse = {m.id: m for m in thread.messages} if thread is not None else {}
        document, _ = to_threadline_document(snapshot, reuse=reuse)
        if thread is not None:
            thread.delete()
        return manager.import_session(document, keep_id=True)

    def _threadline_turn(self, session: LangSwarmSession) -> ThreadlineReply:
        sent = session.history.messages[-1]
        thread = self._synced_thread(session, session.history.messages[:-1])
        before = len(thread.messages)
        reply = thread.send(
            tl.Message(
                id=sent.id,
                role="user",
                parts=[tl.TextPart(text=sent.content)],
                created_at=to_utc(sent.timestamp),
                metadata=dict(sent.metadata),
            )
        )
        mirrored = thread.messages
        # The provider may have given the input an id of its own: the v1 view follows.
        sent.provider_message_id = mirrored[before].provider_id
        return ThreadlineReply(
            messages=to_v1_messages(mirrored[before + 1 :]),
            usage=reply.usage or tl.Usage(),
            session_total_tokens=thread.usage.total_tokens,
            thread=thread,
        )


_default_manager: LangSwarmSessionManager | None = None


def get_session_manager() -> LangSwarmSessionManager:
    global _default_manager
    if _default_manager is None:
        _default_manager = LangSwarmSessionManager()
    return _default_manager


def set_session_manager(manager: LangSwarmSessionManager) -> None:
    global _default_manager
    _default_manager = manager
