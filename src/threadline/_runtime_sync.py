# GENERATED from src/threadline/_runtime_async.py by scripts/gen_sync.py: do not edit.
# Edit the async source and run `make generate`.
"""What a manager shares with its sessions: store, providers, retries, telemetry.

A session holds the runtime of the manager that made it, never the manager itself,
so imports point one way: manager → session → turn → runtime. The runtime also does
the few things both a manager and a session do: delete a session's data, drop
server-side state the mirror no longer uses, and refuse work after ``close()``.
"""

from __future__ import annotations

import contextlib
import logging
import weakref
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ._records import NativeState, SessionRecord
from ._retry import RetryPolicy
from ._telemetry import Telemetry
from .errors import ConcurrencyError, ManagerClosedError
from .messages import utcnow
from .providers import Engine, Provider, builtin_provider
from .providers.echo import EchoProvider
from .stores import Store

if TYPE_CHECKING:
    from opentelemetry.trace import Span

logger = logging.getLogger("threadline")

__all__ = ["Runtime"]


class Runtime:
    """The store, providers, retry policy and telemetry of one manager."""

    def __init__(
        self,
        store: Store,
        providers: Iterable[Provider],
        retry: RetryPolicy,
        telemetry: Telemetry,
    ) -> None:
        self.store = store
        self.retry = retry
        self.telemetry = telemetry
        self.closed = False
        self._providers: dict[str, Provider] = {"echo": EchoProvider()}
        self._providers.update((p.name, p) for p in providers)
        self._built: set[str] = set()
        # Engines of the providers built here: closing the manager closes their clients.
        self._owned: dict[str, Engine] = {}
        # Streams handed out and not finished: close() ends them, so none is left
        # half-way to be finalised after the store has gone.
        self._streams: weakref.WeakSet[Any] = weakref.WeakSet()

    def check_open(self) -> None:
        if self.closed:
            raise ManagerClosedError()

    def provider(self, name: str) -> Provider:
        """The provider registered (or built in) under ``name``."""
        try:
            return self._providers[name]
        except KeyError:
            pass
        provider = builtin_provider(name)
        self._providers[name] = provider
        self._built.add(name)
        return provider

    def engine(self, name: str) -> Engine:
        engine = self.provider(name).sync_engine()
        if name in self._built:
            self._owned[name] = engine
        return engine

    def track(self, stream: Iterator[Any]) -> None:
        self._streams.add(stream)

    # -- deleting ------------------------------------------------------------------

    def delete_record(self, record: SessionRecord) -> bool:
        """Delete a session's data, then (best effort) its server-side state."""
        # Local data first: a slow or failing provider must never keep it alive.
        with self.telemetry.store_step(None, "delete"):
            removed = self.store.delete(record.id, user=None)
        if record.native is not None:
            self.discard_native(record.native, record.id)
        return removed

    def discard_native(self, native: NativeState, session_id: str) -> None:
        """Delete server-side state the mirror no longer uses, best effort.

        Server-side state is a cache: failing to delete it must not keep the user's data
        alive locally, nor fail the operation that dropped it. It expires on the
        provider's side.
        """
        try:
            provider = self.provider(native.provider)
            if provider.capabilities.delete_native:
                with self.telemetry.server_call(provider, "delete_conversation", session_id):
                    self.engine(native.provider).delete_native(native)
        except Exception as exc:
            logger.warning(
                "could not delete server-side state of session %s (%s): %s",
                session_id,
                native.provider,
                type(exc).__name__,
            )

    def forget_native(self, session_id: str, native: NativeState | None, span: Span) -> None:
        """Stop the session using ``native`` if its stored record still points at it.

        Called when a turn reached the server but lost the commit race: that server
        copy holds a turn the mirror does not, so the winner must not continue it. The
        next turn re-seeds from the mirror instead.
        """
        if native is None or native.handle is None:
            return
        for _ in range(3):
            latest = self.store.get(session_id, user=None, now=utcnow())
            if latest.native is None or latest.native.handle != native.handle:
                return
            try:
                self.store.commit(
                    latest.model_copy(update={"native": None, "version": latest.version + 1}),
                    expected_version=latest.version,
                )
            except ConcurrencyError:
                continue
            span.add_event("threadline.native.invalidated", {"reason": "orphaned_turn"})
            self.discard_native(native, session_id)
            return

    # -- lifetime ------------------------------------------------------------------

    def close(self) -> None:
        """End open streams, close the clients threadline built and the store."""
        if self.closed:
            return
        for stream in list(self._streams):
            # One running right now in another task or thread ends by itself.
            with contextlib.suppress(RuntimeError, ValueError):
                stream.close()
        self.closed = True
        try:
            for engine in self._owned.values():
                engine.close()
            self._owned.clear()
        finally:
            self.store.close()
