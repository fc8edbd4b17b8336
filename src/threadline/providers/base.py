"""The provider seam: how the session core talks to a model provider.

A provider turns one `TurnRequest` (the mirrored history, this turn's input, the cached
server-side state) into one `TurnResult` (the reply to mirror, usage, the new
server-side state). It never touches the store: the core commits what it returns, so
a turn that raises leaves the mirror as it was.

Server-side state is a cache of the mirror (`NativeState`). `TurnRequest.native_is_current`
tells a provider whether the cache still matches the mirror; when it does not, the
provider re-seeds it from ``history`` (and says so through ``hooks.event``). The
same path serves a lost conversation, a restore, a fork and a hand-off from another
provider.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from .._records import Mode, NativeState
from ..errors import ProviderError
from ..messages import Message, Tool, ToolCallPart, Usage

__all__ = [
    "Capabilities",
    "NativeState",
    "NoHooks",
    "Provider",
    "StreamEvent",
    "TurnHooks",
    "TurnRequest",
    "TurnResult",
]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a provider can do, as data the core and docs can read."""

    native_state: bool
    """It can keep the conversation server-side (so ``mode="native"`` is its default)."""
    streaming: bool = True
    tools: bool = True
    images: bool = True
    delete_native: bool = False
    """It can delete its server-side state (done on ``delete()`` and cleanup)."""


class TurnHooks(Protocol):
    """Telemetry for the calls a provider makes besides the model call itself."""

    def server_call(self, operation: str, **attributes: Any) -> Any:
        """A context manager around one server-side state call (a CLIENT span)."""

    def event(self, name: str, **attributes: Any) -> None:
        """Record something that happened during the turn (e.g. a re-seed)."""


class NoHooks:
    """Hooks that record nothing: for calling a provider directly."""

    @contextmanager
    def server_call(self, operation: str, **attributes: Any) -> Iterator[None]:
        yield

    def event(self, name: str, **attributes: Any) -> None:
        return None


@dataclass(slots=True)
class TurnRequest:
    """Everything a provider needs for one turn."""

    session_id: str
    model: str
    system: str | None
    mode: Mode
    history: Sequence[Message]
    """The mirrored messages before this turn, oldest first."""
    input: Message
    """This turn's new message: a user message or a tool-results message."""
    native: NativeState | None = None
    """The cached server-side state. A provider may replace it during the turn (after
    creating a conversation, say) so that a retry of the same turn continues there."""
    tools: Sequence[Tool] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    hooks: TurnHooks = field(default_factory=NoHooks)
    attempt: int = 1
    """1 for the first try; higher on retries."""
    last_error: ProviderError | None = None
    """Why the previous attempt failed."""
    ambiguous: bool = False
    """Some earlier attempt of this turn failed ambiguously (it may have reached the
    server): the server may already hold the turn, so check before sending again. It
    stays set for the rest of the turn, whatever later attempts fail with."""

    def native_for(self, provider: str) -> NativeState | None:
        """The cached server-side state if it still matches the mirror, else None."""
        native = self.native
        if (
            native is None
            or native.provider != provider
            or native.synced_count != len(self.history)
        ):
            return None
        return native


@dataclass(slots=True)
class TurnResult:
    """What one turn produced. The core mirrors ``output`` after ``input``."""

    output: list[Message]
    usage: Usage = field(default_factory=Usage)
    native: NativeState | None = None
    input_provider_id: str | None = None
    response_id: str | None = None
    response_model: str | None = None
    finish_reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One event of ``session.stream()``.

    ``type == "text"``: ``text`` holds the next piece of the reply.
    ``type == "tool_call"``: ``tool_call`` holds a complete tool call.
    ``type == "done"``: ``message`` holds the mirrored reply (the last event).
    """

    type: Literal["text", "tool_call", "done"]
    text: str = ""
    tool_call: ToolCallPart | None = None
    message: Message | None = None


@runtime_checkable
class Provider(Protocol):
    """A model provider adapter."""

    name: str
    """The name sessions record: ``openai``, ``anthropic``, ``google``, ``echo``."""
    system_name: str
    """``gen_ai.provider.name`` for telemetry (``openai``, ``anthropic``, ``gcp.gemini``)."""
    default_model: str
    capabilities: Capabilities

    async def turn(self, request: TurnRequest) -> TurnResult:
        """Run one turn; raise a `ProviderError` on failure."""
        ...

    def stream(self, request: TurnRequest) -> AsyncIterator[StreamEvent | TurnResult]:
        """Run one turn streaming: `StreamEvent`s (text, tool_call), then one `TurnResult`."""
        ...

    async def delete_native(self, native: NativeState) -> None:
        """Delete server-side state (best effort; may raise `ProviderError`)."""

    async def aclose(self) -> None:
        """Release clients threadline built."""
