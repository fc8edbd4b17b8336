"""The echo provider's engine, async face (the blocking twin is generated from it).

All the behaviour lives in `EchoProvider`; an engine only fetches the history a turn
needs (none when the simulated server's copy is current) and hands the reply over.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from ..messages import Message
from .base import NativeState, StreamEvent, TurnRequest, TurnResult
from .echo import EchoProvider

__all__ = ["AsyncEchoEngine"]


class AsyncEchoEngine:
    """Runs echo turns for an `AsyncSessionManager`."""

    def __init__(self, provider: EchoProvider, client: Any = None) -> None:
        self._provider = provider

    async def _history(self, request: TurnRequest) -> Sequence[Message]:
        held = self._provider.held(request)
        if held is not None:
            return held
        return await request.aload_history()

    async def turn(self, request: TurnRequest) -> TurnResult:
        return self._provider._run(request, await self._history(request))

    async def stream(self, request: TurnRequest) -> AsyncIterator[StreamEvent | TurnResult]:
        result = self._provider._run(request, await self._history(request))
        for event in self._provider._events(result):
            yield event
        yield result

    async def delete_native(self, native: NativeState) -> None:
        self._provider._forget(native)

    async def aclose(self) -> None:
        return None
