"""The shim's surface: v1's module layout and names, importable with no optional
dependency loaded."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import threadline_v1

V1_EXPORTS = """
LangSwarmSession SessionMetadata ConversationMessage ConversationHistory SessionStatus
SessionControl MessageRole SessionStorage InMemorySessionStorage SQLiteSessionStorage
SessionStorageFactory SessionStrategy NativeSessionStrategy ClientSideSessionStrategy
HybridSessionStrategy SessionStrategyFactory BaseSessionAdapter OpenAISessionAdapter
ClaudeSessionAdapter GeminiSessionAdapter MistralSessionAdapter CohereSessionAdapter
SessionAdapterFactory LangSwarmSessionManager HybridSessionManager
HybridSessionManagerFactory SessionDatabaseBridge HybridAdapterFactory MockSessionAdapter
""".split()  # noqa: SIM905  (V1_API.md's list, as written there)

MODULE_NAMES = {
    "manager": ["LangSwarmSessionManager", "get_session_manager", "set_session_manager"],
    "storage": ["get_session_storage", "set_session_storage", "SQLiteSessionStorage"],
    "adapters": ["TestSessionAdapter", "SessionAdapterFactory"],
    "models": ["LangSwarmSession", "MessageRole"],
    "strategies": ["SessionStrategyFactory"],
    "hybrid_manager": ["HybridSessionManager"],
    "adapters_bridge": ["MockSessionAdapter", "SessionDatabaseBridge"],
    "enhanced_storage": ["EnhancedSessionStorage", "EnhancedSessionStorageFactory"],
    "bigquery_storage": ["BigQuerySessionStorage"],
}


def test_v1_names_are_exported_in_v1_places() -> None:
    for name in V1_EXPORTS:
        assert name in threadline_v1.__all__ and hasattr(threadline_v1, name), name
    assert threadline_v1.__all__ == sorted(threadline_v1.__all__)
    for module, names in MODULE_NAMES.items():
        loaded = importlib.import_module(f"threadline_v1.{module}")
        for name in names:
            assert hasattr(loaded, name), f"threadline_v1.{module}.{name}"


def test_importing_every_module_loads_no_optional_dependency() -> None:
    """Checked in a fresh interpreter: this one may have imported SDKs already."""
    modules = ", ".join(f"threadline_v1.{m}" for m in MODULE_NAMES)
    code = (
        f"import sys, threadline_v1, {modules}\n"
        "optional = ('openai', 'anthropic', 'google', 'chromadb', 'redis', 'psycopg',"
        " 'langswarm')\n"
        "print(__import__('json').dumps(sorted(m for m in sys.modules"
        " if m.split('.')[0] in optional)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(done.stdout) == []
