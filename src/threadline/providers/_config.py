"""The face-neutral half of an SDK-backed provider: its options, its client, its engines.

A provider object (``OpenAIProvider(client=...)``) is configuration a user passes to
either manager. The work is done by an engine of the manager's face, generated from
one async source (docs/architecture.md): ``async_engine()`` for an
`AsyncSessionManager`, ``sync_engine()`` for a `SessionManager`. Each is built on
first use and kept, so a face's client (and its connection pool) lives as long as the
provider.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, ClassVar

from .base import Capabilities

__all__ = ["SdkProvider"]


class SdkProvider:
    """Base of the SDK adapters' provider classes.

    Subclasses set the class attributes and ``_engine_module`` (e.g. ``"._openai"``:
    the engines live in ``_openai_async.py`` as ``Async<_engine_class>`` and in the
    generated ``_openai_sync.py`` as ``<_engine_class>``).
    """

    name: str
    system_name: str
    default_model: str
    capabilities: Capabilities
    _engine_module: ClassVar[str]
    _engine_class: ClassVar[str]
    async_engine_class: ClassVar[type | None] = None
    """Set in a subclass to run turns with an engine class of your own (a test double
    that subclasses `threadline.testing.AsyncEchoEngine`, say)."""
    sync_engine_class: ClassVar[type | None] = None

    def __init__(self, client: Any = None) -> None:
        self.client = client
        """The SDK client given by the user, or None (each face then builds its own)."""
        self._engines: dict[str, Any] = {}

    def async_engine(self) -> Any:
        """The engine an `AsyncSessionManager` runs turns with."""
        return self._engine("async")

    def sync_engine(self) -> Any:
        """The engine a `SessionManager` runs turns with."""
        return self._engine("sync")

    def _engine(self, face: str) -> Any:
        engine = self._engines.get(face)
        if engine is None:
            cls = self.async_engine_class if face == "async" else self.sync_engine_class
            if cls is None:
                module = import_module(f"{self._engine_module}_{face}", __package__)
                prefix = "Async" if face == "async" else ""
                cls = getattr(module, prefix + self._engine_class)
            engine = cls(self, self.client)
            self._engines[face] = engine
        return engine
