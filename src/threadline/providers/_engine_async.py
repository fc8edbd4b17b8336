"""The engine seam, async face: what runs a provider's turns for an `AsyncSessionManager`.

A provider object is configuration (`threadline.providers.Provider`); the engine of a
manager's face does the work. `scripts/gen_sync.py` turns this protocol into
`_engine_sync.Engine`, the same contract with blocking methods.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from .base import NativeState, StreamEvent, TurnRequest, TurnResult

__all__ = ["AsyncEngine"]


class AsyncEngine(Protocol):
    """Runs turns against one provider with one SDK client."""

    async def turn(self, request: TurnRequest) -> TurnResult:
        """Run one turn; raise a `ProviderError` on failure."""
        ...

    def stream(self, request: TurnRequest) -> AsyncIterator[StreamEvent | TurnResult]:
        """Run one turn streaming: `StreamEvent`s (text, tool_call), then one `TurnResult`."""
        ...

    async def delete_native(self, native: NativeState) -> None:
        """Delete server-side state (best effort; may raise `ProviderError`)."""

    async def aclose(self) -> None:
        """Release what the engine built (its client); a client the user gave stays open."""
