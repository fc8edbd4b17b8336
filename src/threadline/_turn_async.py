"""How one turn runs: the provider call with retries, its commit, and what a turn that
does not complete leaves behind.

A turn is committed once, after the provider answered: input and reply together, in
one compare-and-set write. A turn that fails adds nothing to the mirror. If its request
may have reached the provider, the provider's copy may hold part of it; `abandon`
then stops the session using that copy (and deletes it), so the next turn re-seeds.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ._concurrency import AsyncLock, aclose_iter, acurrent_task, ashield
from ._records import SessionRecord
from ._retrying_async import call_with_retry
from ._runtime_async import AsyncRuntime
from ._validate import MAX_MESSAGE_BYTES, ToolsArg, as_tools, check_message, pending_calls
from .errors import ConcurrencyError, ConfigurationError, ProviderError, ValidationError
from .messages import Message, ToolResult
from .providers.base import StreamEvent, TurnRequest, TurnResult

if TYPE_CHECKING:
    from opentelemetry.trace import Span

logger = logging.getLogger("threadline")

_Events = AsyncIterator[StreamEvent | TurnResult]


class TurnOwner(Protocol):
    """What a turn needs of its session (`AsyncConversationSession`)."""

    _runtime: AsyncRuntime
    _record: SessionRecord
    _history: list[Message] | None
    _lock: AsyncLock
    _stream_task: object

    @property
    def id(self) -> str: ...

    def _check_writable(self, operation: str) -> None: ...

    async def _load_history(self) -> list[Message]: ...

    async def _commit(
        self,
        span: Span,
        append: Sequence[Message] = (),
        keep: int | None = None,
        **changes: Any,
    ) -> None: ...


def check_tool_results(record: SessionRecord, message: Message) -> None:
    """The mirror never holds a history a provider would reject: tool calls of the
    last reply are answered, all of them, before anything else is sent."""
    pending = record.pending_calls
    answered = [p.call_id for p in message.parts if isinstance(p, ToolResult)]
    if pending and sorted(answered) != sorted(pending):
        missing = [c for c in pending if c not in answered]
        if not answered:
            raise ValidationError(
                f"the last reply asked for tool calls {', '.join(pending)}: send a "
                "tl.ToolResult for each (is_error=True to decline one) before anything else"
            )
        raise ValidationError(
            f"tool results must answer the pending calls {', '.join(pending)} exactly"
            + (f"; missing {', '.join(missing)}" if missing else "")
        )
    if not pending and answered:
        raise ValidationError(
            f"no tool call is waiting for a result (got results for {', '.join(answered)})"
        )


async def build_request(
    session: TurnOwner, message: Message, tools: ToolsArg, options: dict[str, Any], provider: str
) -> TurnRequest:
    """The request for one turn. The history is read only when the turn needs it:
    local mode, or server-side state that no longer matches the mirror."""
    size = check_message(message)
    if size > MAX_MESSAGE_BYTES:
        raise ValidationError(f"message is {size} bytes; the limit is {MAX_MESSAGE_BYTES}")
    record = session._record
    check_tool_results(record, message)
    request = TurnRequest(
        session_id=record.id,
        model=record.model,
        system=record.system,
        mode=record.mode,
        history_count=record.message_count,
        input=message,
        native=record.native,
        tools=record.tools if tools is None else as_tools(tools) or [],
        options=options,
        loaded=session._history,
        loader=session._load_history,
    )
    if record.mode == "local" or request.native_for(provider) is None:
        await request.aload_history()
    return request


def mark_attempt(request: TurnRequest, number: int, last: ProviderError | None) -> None:
    request.attempt, request.last_error = number, last
    if last is not None and last.ambiguous:
        request.ambiguous = True  # stays set: later errors do not undo it


async def commit(
    session: TurnOwner, span: Span, request: TurnRequest, result: TurnResult
) -> Message:
    for reply in result.output:
        try:
            check_message(reply)
        except ValidationError as exc:
            # Like a reply that cannot be read: the server holds the turn, the mirror
            # cannot, so the server-side copy is dropped (ambiguous).
            raise ProviderError(
                f"the reply cannot be stored: {exc}",
                provider=session._record.provider,
                ambiguous=True,
            ) from None
    message = request.input
    if result.input_provider_id is not None:
        message = message.model_copy(update={"provider_id": result.input_provider_id})
    await session._commit(
        span,
        append=[message, *result.output],
        usage=session._record.usage + result.usage,
        native=result.native,
        pending_calls=pending_calls(result.output),
    )
    return result.output[-1]


async def abandon(
    session: TurnOwner,
    span: Span,
    request: TurnRequest,
    exc: BaseException,
    result: TurnResult | None,
) -> None:
    """A turn that reached the provider will not be mirrored: tidy server-side state.

    The server may hold (part of) the turn when a request may have got there: an
    ambiguous provider error on any attempt, or an interruption after sending
    (abandoned stream, cancellation, Ctrl-C, a failed commit). The session then stops
    using its server-side copy and deletes it; the next turn re-seeds from the mirror.
    Errors that say the request was refused (401, 400, 429), or that it was never sent
    (a `ValidationError` or `ConfigurationError` raised before sending: an option the
    provider does not take, a client of the wrong kind), keep it. Server-side state
    created during this turn is deleted in any case. Nothing here may hide the
    original error.
    """
    runtime = session._runtime
    stored = session._record.native
    created = {
        n.handle: n
        for n in (request.native, result.native if result is not None else None)
        if n is not None and n.handle is not None and (stored is None or n.handle != stored.handle)
    }
    try:
        if isinstance(exc, ConcurrencyError):
            # Another writer won the commit race after our turn reached the server.
            if result is not None:
                await runtime.forget_native(session.id, result.native, span)
        elif stored is not None and (
            not isinstance(exc, ProviderError | ValidationError | ConfigurationError)
            or (isinstance(exc, ProviderError) and exc.ambiguous)
            or request.ambiguous
        ):
            reason = "ambiguous_failure" if isinstance(exc, ProviderError) else "interrupted"
            try:
                await session._commit(span, native=None)
            except ConcurrencyError:
                await runtime.forget_native(session.id, stored, span)
            span.add_event("threadline.native.invalidated", {"reason": reason})
        for native in created.values():
            await runtime.discard_native(native, session.id)
    except Exception as cleanup:  # the caller must see the turn's own error
        logger.warning(
            "could not tidy server-side state of session %s after a failed turn: %s",
            session.id,
            type(cleanup).__name__,
        )


async def send(
    session: TurnOwner, message: Message, tools: ToolsArg, options: dict[str, Any]
) -> Message:
    """One turn, answered whole."""
    runtime = session._runtime
    telemetry = runtime.telemetry
    async with session._lock:
        with telemetry.operation("send", session._record) as span:
            runtime.check_open()
            session._check_writable("send")
            provider = runtime.provider(session._record.provider)
            engine = runtime.engine(provider.name)
            request = await build_request(session, message, tools, options, provider.name)
            result: TurnResult | None = None
            try:
                with telemetry.model_call(provider, request) as call:

                    async def attempt(number: int, last: ProviderError | None) -> TurnResult:
                        mark_attempt(request, number, last)
                        return await engine.turn(request)

                    result = await call_with_retry(runtime.retry, attempt, call.retry)
                    call.finish(result)
                return await commit(session, span, request, result)
            except BaseException as exc:
                # Shielded: a cancelled turn still tidies up (in the background if
                # need be).
                await ashield(abandon(session, span, request, exc, result))
                raise


async def stream(
    session: TurnOwner, message: Message, tools: ToolsArg, options: dict[str, Any]
) -> AsyncIterator[StreamEvent]:
    """One turn, streamed: its events, then ``done`` once it is committed."""
    runtime = session._runtime
    telemetry = runtime.telemetry
    async with session._lock:
        session._stream_task = acurrent_task()
        try:
            with telemetry.operation("stream", session._record, attach=False) as span:
                runtime.check_open()
                session._check_writable("stream")
                provider = runtime.provider(session._record.provider)
                engine = runtime.engine(provider.name)
                request = await build_request(session, message, tools, options, provider.name)
                result: TurnResult | None = None
                events: _Events | None = None
                try:
                    with telemetry.model_call(provider, request, parent=span) as call:

                        async def first(
                            number: int, last: ProviderError | None
                        ) -> tuple[_Events, StreamEvent | TurnResult]:
                            # Retries apply until the first event: after that the caller
                            # has seen output, and a retry would show it twice.
                            mark_attempt(request, number, last)
                            opened = engine.stream(request)
                            with call.active():
                                return opened, await _next(opened, provider.name)

                        opened, item = await call_with_retry(runtime.retry, first, call.retry)
                        events = opened
                        while not isinstance(item, TurnResult):
                            yield item
                            with call.active():
                                item = await _next(opened, provider.name)
                        result = item
                        call.finish(result)
                    reply = await commit(session, span, request, result)
                except BaseException as exc:
                    await ashield(abandon(session, span, request, exc, result))
                    raise
                finally:
                    if events is not None:
                        await aclose_iter(events)
                yield StreamEvent(type="done", message=reply)
        finally:
            session._stream_task = None


async def _next(events: _Events, provider: str) -> StreamEvent | TurnResult:
    try:
        return await anext(events)
    except StopAsyncIteration:
        raise ProviderError(
            "the stream ended before the reply was complete", provider=provider, retryable=True
        ) from None
