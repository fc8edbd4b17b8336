"""What the Anthropic and Google engine tests share: an engine driven as the core
drives it (`EngineDriver`), recorded hooks, and one test body for both manager faces
(`Api`, `manager`). Each fake module subclasses `EngineDriver` with its provider's
construction and request."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from threadline.errors import ProviderError
from threadline.messages import Message, SendInput
from threadline.providers.base import NativeState, StreamEvent, TurnRequest, TurnResult


class Hooks:
    """`TurnHooks` that record what the engine reported."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.server_calls: list[str] = []

    @contextmanager
    def server_call(self, operation: str, **attributes: Any) -> Iterator[None]:
        self.server_calls.append(operation)
        yield

    def event(self, name: str, **attributes: Any) -> None:
        self.events.append((name, attributes))

    def named(self, name: str) -> list[dict[str, Any]]:
        """The attributes of every event called ``name``, in order."""
        return [attributes for event, attributes in self.events if event == name]


class EngineDriver:
    """One conversation on one engine face; subclasses build ``engine`` and requests."""

    name: str
    sync: bool
    engine: Any
    mode: str
    history: list[Message]
    native: NativeState | None

    def request(self, content: SendInput | Message, **options: Any) -> TurnRequest:
        raise NotImplementedError

    async def run(self, request: TurnRequest) -> TurnResult:
        """One engine call, no retries."""
        if self.sync:
            result: TurnResult = self.engine.turn(request)
        else:
            result = await self.engine.turn(request)
        return result

    async def run_stream(self, request: TurnRequest) -> list[StreamEvent | TurnResult]:
        """One streamed engine call, read to its end, no retries."""
        if self.sync:
            return list(self.engine.stream(request))
        return [event async for event in self.engine.stream(request)]

    async def delete_native(self, native: NativeState) -> None:
        if self.sync:
            self.engine.delete_native(native)
        else:
            await self.engine.delete_native(native)

    # -- turns, as the core runs them ----------------------------------------------------

    # -- turns, as the core runs them ----------------------------------------------------

    async def send(
        self, content: SendInput | Message, *, attempts: int = 1, **options: Any
    ) -> Message:
        """A whole turn: retried like the core's `RetryPolicy`, then committed."""
        request = self.request(content, **options)
        result = await self._attempts(request, attempts, self.run)
        assert isinstance(result, TurnResult)
        self.commit(request, result)
        return result.output[-1]

    async def stream(
        self, content: SendInput, *, attempts: int = 1, **options: Any
    ) -> tuple[list[StreamEvent], Message]:
        """A streamed turn: its events and the committed reply."""
        request = self.request(content, **options)
        items = await self._attempts(request, attempts, self.run_stream)
        assert isinstance(items, list)
        *events, result = items
        assert isinstance(result, TurnResult)
        assert all(isinstance(e, StreamEvent) for e in events)
        self.commit(request, result)
        return events, result.output[-1]  # type: ignore[return-value]

    async def _attempts(self, request: TurnRequest, attempts: int, call: Any) -> Any:
        if self.mode == "local" or request.native_for(self.name) is None:
            await self._preload(request)  # as the core's build_request does
        last: ProviderError | None = None
        for number in range(1, attempts + 1):
            request.attempt, request.last_error = number, last
            if last is not None and last.ambiguous:
                request.ambiguous = True
            try:
                return await call(request)
            except ProviderError as exc:
                last = exc
                if number == attempts or not exc.retryable:
                    if exc.ambiguous or request.ambiguous:
                        self.native = None  # the core's `abandon`
                    raise
        raise AssertionError("unreachable")

    async def _preload(self, request: TurnRequest) -> None:
        if self.sync:
            request.load_history()
        else:
            await request.aload_history()

    def commit(self, request: TurnRequest, result: TurnResult) -> None:
        self.history += [request.input, *result.output]
        self.native = result.native

    async def close(self) -> None:
        if self.sync:
            self.engine.close()
        else:
            await self.engine.aclose()


def texts(messages: Sequence[Message]) -> list[str]:
    return [m.text for m in messages]


# -- sessions over the fake (the public API, both faces) ----------------------------------


class Api:
    """Awaitable calls on a sync or async threadline object (manager, session), so one
    test body drives either face; sync calls run inline (the fake is in memory)."""

    def __init__(self, target: Any, sync: bool) -> None:
        self._target = target
        self._sync = sync

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value):
            return value

        async def call(*args: Any, **kwargs: Any) -> Any:
            result = value(*args, **kwargs)
            if self._sync:
                if hasattr(result, "__next__"):
                    result = list(result)
            elif hasattr(result, "__aiter__"):
                result = [event async for event in result]
            else:
                result = await result
            kind = type(result).__name__
            if kind.endswith(("ConversationSession", "SessionManager")):
                return Api(result, self._sync)
            return result

        return call


def manager(face: str, providers: Sequence[Any], telemetry: Any, *, attempts: int = 4) -> Api:
    """A manager of the given face on a memory store, retries without waiting."""
    import threadline as tl

    options: dict[str, Any] = {
        "providers": list(providers),
        "retry": tl.RetryPolicy(max_attempts=attempts, initial_backoff=0, max_backoff=0),
        **telemetry.manager_options,
    }
    if face == "sync":
        return Api(tl.SessionManager("memory://", **options), True)
    return Api(tl.AsyncSessionManager("memory://", **options), False)
