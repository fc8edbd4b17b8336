"""`KeptProvider`: a stand-in for a provider threadline has no adapter for.

v1 sessions name providers threadline does not have (``mistral``, ``cohere``, the
``test`` adapter, or ``anthropic`` before its adapter is installed). threadline keeps
a session's provider by name and refuses to store a session whose provider it does
not know, so migration and the threadline-backed storage register one of these under
each such name: the session is kept as it was, and only a turn on it fails, with an
error that says what can be done instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import threadline as tl

__all__ = ["KeptProvider"]


class KeptProvider:
    """Stands in for a provider threadline has no adapter for (v1's ``mistral``, say).

    Registered under the v1 name, it lets such sessions be stored, read, exported and
    forked to a supported provider; a turn on one raises `ConfigurationError`.
    """

    default_model = "unknown"
    capabilities = tl.providers.Capabilities(
        native_state=False, streaming=False, tools=False, images=False
    )

    def __init__(self, name: str, reason: str = "") -> None:
        self.name = self.system_name = name
        self.reason = reason

    def refusal(self) -> tl.ConfigurationError:
        why = f" ({self.reason})" if self.reason else ""
        return tl.ConfigurationError(
            f"provider {self.name!r} has no threadline adapter here{why}: the session can be"
            " read, exported, or forked to a supported provider (fork(provider=...))"
        )

    def async_engine(self) -> tl.providers.AsyncEngine:
        return _KeptAsyncEngine(self)

    def sync_engine(self) -> tl.providers.Engine:
        return _KeptEngine(self)


class _KeptAsyncEngine:
    def __init__(self, provider: KeptProvider) -> None:
        self.provider = provider

    async def turn(self, request: tl.providers.TurnRequest) -> tl.providers.TurnResult:
        raise self.provider.refusal()

    async def stream(
        self, request: tl.providers.TurnRequest
    ) -> AsyncIterator[tl.StreamEvent | tl.providers.TurnResult]:
        raise self.provider.refusal()
        yield  # pragma: no cover  (makes this an async generator)

    async def delete_native(self, native: Any) -> None:
        return None

    async def aclose(self) -> None:
        return None


class _KeptEngine:
    def __init__(self, provider: KeptProvider) -> None:
        self.provider = provider

    def turn(self, request: tl.providers.TurnRequest) -> tl.providers.TurnResult:
        raise self.provider.refusal()

    def stream(
        self, request: tl.providers.TurnRequest
    ) -> Iterator[tl.StreamEvent | tl.providers.TurnResult]:
        raise self.provider.refusal()
        yield  # pragma: no cover  (makes this a generator)

    def delete_native(self, native: Any) -> None:
        return None

    def close(self) -> None:
        return None
