"""The provider seam: how the session core talks to a model provider.

A provider's engine (`AsyncEngine`, or its blocking twin `Engine`) turns one
`TurnRequest` (the mirrored history, this turn's input, the cached server-side state)
into one `TurnResult` (the reply to mirror, usage, the new server-side state). It
never touches the store: the core commits what it returns, so a turn that raises
leaves the mirror as it was.

Server-side state is a cache of the mirror (`NativeState`). `TurnRequest.native_for`
tells a provider whether the cache still matches the mirror; when it does not, the
provider re-seeds it from the history (and says so through ``hooks.event``). The
same path serves a lost conversation, a restore, a fork and a hand-off from another
provider.

The history is loaded lazily: a native turn whose cache is current never reads it.
An engine that needs it calls ``await request.aload_history()`` (``load_history()``
on the sync face); in local mode, and whenever the cache is stale, the core has
loaded it before the engine runs, so ``request.history`` is then ready.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from .._records import Mode, NativeState
from ..errors import ProviderError
from ..messages import Message, Tool, ToolCallPart, Usage

__all__ = [
    "Capabilities",
    "NativeState",
    "NoHooks",
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
    history_count: int
    """How many mirrored messages come before this turn."""
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
    loaded: Sequence[Message] | None = None
    """The history, once loaded (see `history`)."""
    loader: Callable[[], Any] | None = None
    """Reads the history from the mirror: a coroutine function on the async face."""

    @classmethod
    def with_history(cls, history: Sequence[Message], **fields: Any) -> TurnRequest:
        """A request whose history is already in hand (tests, direct engine use)."""
        return cls(history_count=len(history), loaded=history, **fields)

    @property
    def history(self) -> Sequence[Message]:
        """The mirrored messages before this turn, oldest first, once loaded."""
        if self.loaded is None:
            raise RuntimeError(
                "the history is not loaded: call `await request.aload_history()` "
                "(`request.load_history()` on the sync face) first"
            )
        return self.loaded

    async def aload_history(self) -> Sequence[Message]:
        """The history, read from the mirror on first use (async face)."""
        if self.loaded is None:
            assert self.loader is not None, "no history loader"
            loading: Awaitable[Sequence[Message]] = self.loader()
            self.loaded = await loading
        return self.loaded

    def load_history(self) -> Sequence[Message]:
        """The history, read from the mirror on first use (sync face)."""
        if self.loaded is None:
            assert self.loader is not None, "no history loader"
            self.loaded = self.loader()
        return self.loaded

    def native_for(self, provider: str) -> NativeState | None:
        """The cached server-side state if it still matches the mirror, else None."""
        native = self.native
        if (
            native is None
            or native.provider != provider
            or native.synced_count != self.history_count
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
