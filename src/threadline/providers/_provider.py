"""What a manager needs of a provider object: its identity, its abilities, its engines."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ._engine_async import AsyncEngine
from ._engine_sync import Engine
from .base import Capabilities

__all__ = ["Provider"]


@runtime_checkable
class Provider(Protocol):
    """A model provider: face-neutral configuration that builds an engine per face."""

    name: str
    """The name sessions record: ``openai``, ``anthropic``, ``google``, ``echo``."""
    system_name: str
    """``gen_ai.provider.name`` for telemetry (``openai``, ``anthropic``, ``gcp.gemini``)."""
    default_model: str
    capabilities: Capabilities

    def async_engine(self) -> AsyncEngine:
        """The engine an `AsyncSessionManager` runs turns with (built once)."""
        ...

    def sync_engine(self) -> Engine:
        """The engine a `SessionManager` runs turns with (built once)."""
        ...
