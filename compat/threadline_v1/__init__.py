"""LangSwarm v1's session API (`langswarm.core.session`) running on threadline.

Legacy code changes one thing, the import prefix::

    from langswarm.core.session import LangSwarmSessionManager   # before
    from threadline_v1 import LangSwarmSessionManager            # after

The modules mirror v1's (``models``, ``manager``, ``storage``, ``strategies``,
``adapters``, ``hybrid_manager``, ``adapters_bridge``, ``enhanced_storage``,
``bigquery_storage``); ``convert`` and ``threadline_storage`` are the bridge to
threadline. Nothing here needs an optional dependency to import: backends whose
libraries are missing say so when used. See docs/migration.md.
"""

from __future__ import annotations

from .adapters import (
    BaseSessionAdapter,
    ClaudeSessionAdapter,
    CohereSessionAdapter,
    GeminiSessionAdapter,
    MistralSessionAdapter,
    OpenAISessionAdapter,
    SessionAdapterFactory,
)
from .adapters_bridge import HybridAdapterFactory, MockSessionAdapter, SessionDatabaseBridge
from .hybrid_manager import HybridSessionManager, HybridSessionManagerFactory
from .manager import LangSwarmSessionManager
from .models import (
    ConversationHistory,
    ConversationMessage,
    LangSwarmSession,
    MessageRole,
    SessionControl,
    SessionMetadata,
    SessionStatus,
)
from .storage import (
    InMemorySessionStorage,
    SessionStorage,
    SessionStorageFactory,
    SQLiteSessionStorage,
)
from .strategies import (
    ClientSideSessionStrategy,
    HybridSessionStrategy,
    NativeSessionStrategy,
    SessionStrategy,
    SessionStrategyFactory,
)
from .threadline_storage import ThreadlineSessionStorage

__all__ = [
    "BaseSessionAdapter",
    "ClaudeSessionAdapter",
    "ClientSideSessionStrategy",
    "CohereSessionAdapter",
    "ConversationHistory",
    "ConversationMessage",
    "GeminiSessionAdapter",
    "HybridAdapterFactory",
    "HybridSessionManager",
    "HybridSessionManagerFactory",
    "HybridSessionStrategy",
    "InMemorySessionStorage",
    "LangSwarmSession",
    "LangSwarmSessionManager",
    "MessageRole",
    "MistralSessionAdapter",
    "MockSessionAdapter",
    "NativeSessionStrategy",
    "OpenAISessionAdapter",
    "SQLiteSessionStorage",
    "SessionAdapterFactory",
    "SessionControl",
    "SessionDatabaseBridge",
    "SessionMetadata",
    "SessionStatus",
    "SessionStorage",
    "SessionStorageFactory",
    "SessionStrategy",
    "SessionStrategyFactory",
    "ThreadlineSessionStorage",
]
