"""v1 session strategies (`langswarm.core.session.strategies`), reproduced.

They decide, per provider, whether v1 would use the provider's own conversation
state ("native") or send the history itself ("client"). In threadline the same
choice is a session's ``mode``; the shim maps one onto the other when a v1 session
becomes a threadline session (see `threadline_v1.convert`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from .models import SessionControl

if TYPE_CHECKING:
    from .models import LangSwarmSession

__all__ = [
    "ClientSideSessionStrategy",
    "HybridSessionStrategy",
    "NativeSessionStrategy",
    "SessionStrategy",
    "SessionStrategyFactory",
]

# Providers whose v1 adapters kept conversation state on the provider's side.
_NATIVE_THREADING = {
    "openai": True,
    "mistral": True,
    "claude": False,
    "gemini": False,
    "cohere": False,
}

_CAPABILITIES: dict[str, dict[str, Any]] = {
    "openai": {
        "native_threading": True,
        "stateful_conversations": True,
        "message_ids": True,
        "thread_branching": True,
        "recommended_strategy": "hybrid",
        "features": ["assistants_api", "thread_management", "message_persistence"],
    },
    "mistral": {
        "native_threading": True,
        "stateful_conversations": True,
        "message_ids": False,
        "thread_branching": True,
        "recommended_strategy": "hybrid",
        "features": ["agent_conversations", "conversation_branching"],
    },
    "claude": {
        "native_threading": False,
        "stateful_conversations": False,
        "message_ids": True,
        "thread_branching": False,
        "recommended_strategy": "client",
        "features": ["message_ids", "stateless_api"],
    },
    "gemini": {
        "native_threading": False,
        "stateful_conversations": False,
        "message_ids": False,
        "thread_branching": False,
        "recommended_strategy": "client",
        "features": ["stateless_api"],
    },
    "cohere": {
        "native_threading": False,
        "stateful_conversations": False,
        "message_ids": True,
        "thread_branching": False,
        "recommended_strategy": "client",
        "features": ["response_ids", "stateless_api"],
    },
}

_UNKNOWN_CAPABILITIES: dict[str, Any] = {
    "native_threading": False,
    "stateful_conversations": False,
    "message_ids": False,
    "thread_branching": False,
    "recommended_strategy": "client",
    "features": ["unknown_provider"],
}


class SessionStrategy(ABC):
    @abstractmethod
    def should_use_native_sessions(self, provider: str, model: str, **kwargs: Any) -> bool:
        """Whether this provider/model keeps the conversation on its side."""

    @abstractmethod
    def get_session_parameters(self, session: LangSwarmSession) -> dict[str, Any]:
        """Provider-specific parameters for a request."""

    @abstractmethod
    def supports_threading(self, provider: str) -> bool:
        """Whether the provider can hold a conversation."""


class NativeSessionStrategy(SessionStrategy):
    def should_use_native_sessions(self, provider: str, model: str, **kwargs: Any) -> bool:
        return self.supports_threading(provider)

    def get_session_parameters(self, session: LangSwarmSession) -> dict[str, Any]:
        provider = session.provider.lower()
        meta = session.metadata
        params: dict[str, Any] = {}
        if provider == "openai" and meta.provider_thread_id:
            params["thread_id"] = meta.provider_thread_id
        elif provider == "mistral":
            if meta.provider_agent_id:
                params["agent_id"] = meta.provider_agent_id
            if meta.provider_conversation_id:
                params["conversation_id"] = meta.provider_conversation_id
        return params

    def supports_threading(self, provider: str) -> bool:
        return _NATIVE_THREADING.get(provider.lower(), False)


class ClientSideSessionStrategy(SessionStrategy):
    def should_use_native_sessions(self, provider: str, model: str, **kwargs: Any) -> bool:
        return False

    def get_session_parameters(self, session: LangSwarmSession) -> dict[str, Any]:
        return {
            "messages": session.get_messages_for_api(),
            "session_id": session.session_id,
            "user_id": session.user_id,
        }

    def supports_threading(self, provider: str) -> bool:
        return True


class HybridSessionStrategy(SessionStrategy):
    """Native for providers that keep state well (openai, mistral), client otherwise."""

    def __init__(self) -> None:
        self.native_strategy = NativeSessionStrategy()
        self.client_strategy = ClientSideSessionStrategy()
        self.provider_preferences = {
            "openai": "native",
            "mistral": "native",
            "claude": "client",
            "gemini": "client",
            "cohere": "client",
        }

    def should_use_native_sessions(self, provider: str, model: str, **kwargs: Any) -> bool:
        preference = self.provider_preferences.get(provider.lower(), "client")
        return preference == "native" and self.native_strategy.supports_threading(provider)

    def get_session_parameters(self, session: LangSwarmSession) -> dict[str, Any]:
        if self.should_use_native_sessions(session.provider, session.model):
            return self.native_strategy.get_session_parameters(session)
        return self.client_strategy.get_session_parameters(session)

    def supports_threading(self, provider: str) -> bool:
        return True

    def get_optimal_strategy(self, provider: str, model: str) -> str:
        return "native" if self.should_use_native_sessions(provider, model) else "client"


class SessionStrategyFactory:
    _strategies: ClassVar[dict[SessionControl, type[SessionStrategy]]] = {
        SessionControl.NATIVE: NativeSessionStrategy,
        SessionControl.LANGSWARM: ClientSideSessionStrategy,
        SessionControl.HYBRID: HybridSessionStrategy,
    }

    @classmethod
    def create_strategy(cls, control: SessionControl | str) -> SessionStrategy:
        try:
            strategy = cls._strategies[SessionControl(control)]
        except (ValueError, KeyError):
            raise ValueError(f"Unknown session control: {control}") from None
        return strategy()

    @classmethod
    def get_recommended_strategy(cls, provider: str, model: str) -> SessionControl:
        if provider.lower() in ("openai", "mistral"):
            return SessionControl.HYBRID
        return SessionControl.LANGSWARM

    @classmethod
    def analyze_provider_capabilities(cls, provider: str) -> dict[str, Any]:
        found = _CAPABILITIES.get(provider.lower(), _UNKNOWN_CAPABILITIES)
        # A copy: callers may edit what they get without changing the table.
        return {k: list(v) if isinstance(v, list) else v for k, v in found.items()}
