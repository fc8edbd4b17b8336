# GENERATED from src/threadline/providers/_engine_async.py by scripts/gen_sync.py: do not edit.
# Edit the async source and run `make generate`.
"""The engine seam, async face: what runs a provider's turns for an `SessionManager`.

A provider object is configuration (`threadline.providers.Provider`); the engine of a
manager's face does the work. `scripts/gen_sync.py` turns this protocol into
`_engine_sync.Engine`, the same contract with blocking methods.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from .base import NativeState, StreamEvent, TurnRequest, TurnResult

__all__ = ["Engine"]


class Engine(Protocol):
    """Runs turns against one provider with one SDK client."""

    def turn(self, request: TurnRequest) -> TurnResult:
        """Run one turn; raise a `ProviderError` on failure."""
        ...

    def stream(self, request: TurnRequest) -> Iterator[StreamEvent | TurnResult]:
        """Run one turn streaming: `StreamEvent`s (text, tool_call), then one `TurnResult`."""
        ...

    def delete_native(self, native: NativeState) -> None:
        """Delete server-side state (best effort; may raise `ProviderError`)."""

    def close(self) -> None:
        """Release what the engine built (its client); a client the user gave stays open."""
