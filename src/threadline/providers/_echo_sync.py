# GENERATED from src/threadline/providers/_echo_async.py by scripts/gen_sync.py: do not edit.
# Edit the async source and run `make generate`.
"""The echo provider's engine, async face (the blocking twin is generated from it).

All the behaviour lives in `EchoProvider`; an engine only fetches the history a turn
needs (none when the simulated server's copy is current) and hands the reply over.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ..messages import Message
from .base import NativeState, StreamEvent, TurnRequest, TurnResult
from .echo import EchoProvider

__all__ = ["EchoEngine"]


class EchoEngine:
    """Runs echo turns for an `SessionManager`."""

    def __init__(self, provider: EchoProvider, client: Any = None) -> None:
        self._provider = provider

    def _history(self, request: TurnRequest) -> Sequence[Message]:
        held = self._provider.held(request)
        if held is not None:
            return held
        return request.load_history()

    def turn(self, request: TurnRequest) -> TurnResult:
        return self._provider._run(request, self._history(request))

    def stream(self, request: TurnRequest) -> Iterator[StreamEvent | TurnResult]:
        result = self._provider._run(request, self._history(request))
        for event in self._provider._events(result):
            yield event
        yield result

    def delete_native(self, native: NativeState) -> None:
        self._provider._forget(native)

    def close(self) -> None:
        return None
