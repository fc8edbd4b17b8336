"""The Gemini engine: how a turn runs, on the Interactions API or on generateContent.

This is the async source; the blocking twin (`GoogleEngine` in ``_google_sync.py``,
calling ``client.interactions`` where this calls ``client.aio.interactions``) is
generated from it.

Native mode chains interactions: each turn is one ``interactions.create`` with
``previous_interaction_id`` = the session's last interaction, only this turn's input,
``store=True``, and the system instruction, tools and options sent again (they are
per-interaction settings; sending them costs little and never leaves a turn without
them). The SDK's automatic continuation may make several requests for one reply: the
last hop's id is the one to continue from, and usage is summed.

Server-side state is a cache of the mirror. When the session's state is missing or
stale (first turn, restore, fork, import, hand-off, dropped after a failure) or the
server says the previous interaction is unknown or not continuable, the turn starts a
new chain: one create with the whole mirrored history as input steps. Interactions are
immutable, so a retried turn simply branches again from the same previous
interaction; a stray first attempt is a dead branch the session never follows.

Local mode sends the whole history to ``models.generate_content`` every turn.

Deleting a session's state walks its chain back from the last interaction to the
first (``get`` for ``previous_interaction_id``, then ``delete``), best effort.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ProviderError, ThreadlineError
from ..messages import Usage
from . import _google_content_wire as content_wire
from . import _google_wire as wire
from ._google_errors import lost_state, map_error, sdk_errors, status_failure
from ._google_stream import ContentStream, InteractionStream, leftover_events
from ._sdk import transport_error, unreadable
from .base import NativeState, StreamEvent, TurnRequest, TurnResult

if TYPE_CHECKING:
    from .google import GoogleProvider

__all__ = ["AsyncGoogleEngine"]

logger = logging.getLogger("threadline.providers.google")

_FINISHED = frozenset({"completed", "requires_action"})
_REPLY_STEPS = frozenset({"model_output", "function_call"})
_CHAIN_LIMIT = 100_000  # interactions deleted per session at most: a guard against cycles
# What a reply of the wrong shape raises while it is read (pydantic's serialization
# error is a ValueError).
_SHAPE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError)


def _as_dict(item: Any) -> dict[str, Any]:
    """An SDK model (or a dict) as the plain JSON dict the wire translation works on.

    The SDK hands back a reply that is not a JSON object as it is (a list, a string):
    that raises TypeError, a reply of the wrong shape. Fields of the wrong type are
    dumped as they came, without the serializer's warnings: reading them fails instead.
    """
    if isinstance(item, Mapping):
        return dict(item)
    if not hasattr(item, "model_dump"):
        raise TypeError(f"not an object: {type(item).__name__}")
    dumped = item.model_dump(mode="json", exclude_none=True, warnings=False)
    if not isinstance(dumped, dict):
        raise TypeError(f"not an object: {type(dumped).__name__}")
    return dumped


class AsyncGoogleEngine:
    """Runs Gemini turns for a session manager of this face (see `GoogleProvider`)."""

    def __init__(self, provider: GoogleProvider, client: Any) -> None:
        self.provider = provider
        self.name = provider.name
        self._owns_client = client is None
        # Kept referenced for the engine's life: genai.Client closes its pools when
        # garbage-collected.
        self._client = provider.build_client() if client is None else provider.check_client(client)
        self._errors = sdk_errors()

    # -- native mode: planning -----------------------------------------------------

    def _current(self, request: TurnRequest) -> NativeState | None:
        native = request.native_for(self.name)
        if native is None or not native.handle or native.data.get("kind") != "interaction":
            return None
        return native

    async def _kwargs(
        self, request: TurnRequest, current: NativeState | None, reason: str, stream: bool
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {**request.options, "model": request.model, "store": True}
        if request.system:
            kwargs["system_instruction"] = request.system
        if request.tools:
            kwargs["tools"] = wire.interaction_tools(request.tools)
        if stream:
            kwargs["stream"] = True
        if current is not None:
            # A current chain never needs the history; tool names are only looked up
            # in it if the core has it loaded anyway (they are optional here).
            kwargs["previous_interaction_id"] = current.handle
            kwargs["input"] = wire.turn_input(request.input, request.loaded or ())
            return kwargs
        history = await request.aload_history()
        if not history:
            kwargs["input"] = wire.turn_input(request.input, ())
            return kwargs
        request.hooks.event("threadline.native.reseed", reason=reason, items=len(history))
        logger.debug(
            "starting a new interaction chain from the mirror: session=%s reason=%s messages=%d",
            request.session_id,
            reason,
            len(history),
        )
        kwargs["input"] = wire.history_steps([*history, request.input])
        return kwargs

    async def _create(
        self, request: TurnRequest, *, stream: bool
    ) -> tuple[NativeState | None, Any]:
        """Send the turn, re-seeding once if the server lost the previous interaction.

        Returns the state the turn continued (None: it started a new chain) and the
        SDK's interaction or event stream.
        """
        current = self._current(request)
        # "stale": no usable state for this mirror; "lost": the server refused it.
        reason = "stale"
        while True:
            kwargs = await self._kwargs(request, current, reason, stream)
            try:
                return current, await self._client.aio.interactions.create(**kwargs)
            except self._errors as exc:
                if current is None or not lost_state(exc):
                    error = await self._failure(request, exc)
                    break
            # A retry of this turn then seeds straight away instead of asking again.
            current, reason, request.native = None, "lost", None
        raise error  # outside the handler: the SDK error (and its request) is not chained

    # -- native mode: results ------------------------------------------------------

    async def _finish(
        self, request: TurnRequest, current: NativeState | None, interaction: Any
    ) -> TurnResult:
        """The turn from a whole interaction (an SDK model or its JSON), or the error its
        status stands for. One of the wrong shape, or finished without any reply step,
        is an unreadable reply (ambiguous: the server may hold the turn)."""
        failure: ThreadlineError
        try:
            found = _as_dict(interaction)
            status, interaction_id = found.get("status"), found.get("id")
            if (
                not isinstance(interaction_id, str)
                or not interaction_id
                or not isinstance(status, str)
            ):
                raise unreadable(self.name, "an interaction without an id or a status")
            hops = [str(hop) for hop in found.get("continuation_ids") or [interaction_id]]
            if status in _FINISHED:
                return self._result(request, current, found, hops)
            failure = status_failure(self.name, status, found)
        except _SHAPE_ERRORS as exc:
            failure = unreadable(
                self.name, f"an interaction of the wrong shape ({type(exc).__name__})"
            )
        else:
            await self._discard(request, hops)
        raise failure  # outside the handler: nothing chained

    def _result(
        self,
        request: TurnRequest,
        current: NativeState | None,
        interaction: dict[str, Any],
        hops: list[str],
    ) -> TurnResult:
        """The turn from a finished interaction. Raises a shape error (KeyError,
        TypeError...) if its parts are not what the API sends, and an unreadable reply
        if it holds no reply step: mirroring it would invent an empty reply."""
        status, interaction_id = interaction["status"], interaction["id"]
        steps = list(interaction.get("steps") or ())
        if not any(step.get("type") in _REPLY_STEPS for step in steps):
            raise unreadable(self.name, "a finished interaction without a reply")
        usage = wire.interaction_usage(interaction.get("usage"))
        reply = wire.reply_from_steps(steps, usage=usage, provider_id=interaction_id)
        root = current.data.get("root") if current is not None else hops[0]
        return TurnResult(
            output=[reply],
            usage=usage,
            native=NativeState(
                provider=self.name,
                handle=interaction_id,
                synced_count=request.history_count + 2,
                data={"kind": "interaction", "root": root},
            ),
            response_id=interaction_id,
            response_model=interaction.get("model"),
            finish_reasons=wire.interaction_finish(status, reply),
        )

    async def _failure(self, request: TurnRequest, exc: BaseException) -> ThreadlineError:
        """The mapped error of a failed SDK call. Hops that automatic continuation
        completed before it broke off are stored but never continued: deleted first."""
        await self._discard(request, getattr(exc, "continuation_ids", None) or ())
        return map_error(exc, self.name)

    async def _discard(self, request: TurnRequest, ids: Sequence[str]) -> None:
        """Delete interactions of a failed turn (stored, never continued), best effort."""
        for interaction_id in ids:
            try:
                with request.hooks.server_call("delete_interaction"):
                    await self._client.aio.interactions.delete(interaction_id)
            except self._errors as exc:
                error = map_error(exc, self.name)
                if getattr(error, "status_code", None) != 404:
                    logger.warning(
                        "could not delete an interaction of session %s after a failed turn: %s",
                        request.session_id,
                        type(error).__name__,
                    )

    # -- local mode ----------------------------------------------------------------

    async def _content_kwargs(self, request: TurnRequest) -> dict[str, Any]:
        config: dict[str, Any] = {
            **request.options,
            "automatic_function_calling": {"disable": True},
        }
        if request.system:
            config["system_instruction"] = request.system
        if request.tools:
            config["tools"] = content_wire.content_tools(request.tools)
        return {
            "model": request.model,
            "contents": content_wire.contents([*await request.aload_history(), request.input]),
            "config": config,
        }

    def _content_result(self, response: Any) -> TurnResult:
        """The turn from a generateContent response; one of the wrong shape is an
        unreadable reply."""
        failure: ThreadlineError
        try:
            return self._content_turn(_as_dict(response))
        except _SHAPE_ERRORS as exc:
            failure = unreadable(self.name, f"a response of the wrong shape ({type(exc).__name__})")
        raise failure  # outside the handler: nothing chained

    def _content_turn(self, response: dict[str, Any]) -> TurnResult:
        candidates = response.get("candidates")
        if not candidates:
            blocked = (response.get("prompt_feedback") or {}).get("block_reason")
            if blocked:
                raise ProviderError(f"the prompt was blocked ({blocked})", provider=self.name)
            raise unreadable(self.name, "a response without candidates")
        reply, finish = content_wire.reply_from_response(response)
        if finish == ("content_filter",) and not reply.parts:
            reason = candidates[0].get("finish_reason")
            raise ProviderError(f"the reply was blocked ({reason})", provider=self.name)
        return TurnResult(
            output=[reply],
            usage=reply.usage or Usage(),
            response_id=response.get("response_id"),
            response_model=response.get("model_version"),
            finish_reasons=finish,
        )

    async def _local_turn(self, request: TurnRequest) -> TurnResult:
        kwargs = await self._content_kwargs(request)
        error: ThreadlineError
        try:
            response = await self._client.aio.models.generate_content(**kwargs)
        except self._errors as exc:
            error = map_error(exc, self.name, local=True)
        except _SHAPE_ERRORS as exc:
            # The options were checked whole before sending (`check_options`): this is
            # the SDK failing on a reply that is not a response (a JSON number...).
            error = unreadable(self.name, f"not a response ({type(exc).__name__})")
        else:
            return self._content_result(response)
        raise error

    async def _local_stream(self, request: TurnRequest) -> AsyncIterator[StreamEvent | TurnResult]:
        assembly = ContentStream()
        error: ThreadlineError | None = None
        chunks: Any = None
        kwargs = await self._content_kwargs(request)
        try:
            chunks = await self._client.aio.models.generate_content_stream(**kwargs)
            async for chunk in chunks:
                for event in assembly.feed(_as_dict(chunk)):
                    yield event
        except self._errors as exc:
            error = map_error(exc, self.name, local=True)
        except _SHAPE_ERRORS as exc:  # a chunk the SDK or the assembly cannot read
            error = unreadable(self.name, f"a chunk of the wrong shape ({type(exc).__name__})")
        finally:
            if chunks is not None:
                await chunks.aclose()
        if error is not None:
            raise error
        if assembly.finish_reason is None and not assembly.last.get("prompt_feedback"):
            raise transport_error(self.name, "the stream ended before its last chunk")
        result = self._content_result(assembly.response())
        for event in leftover_events(result.output[0], assembly.text, assembly.calls):
            yield event
        yield result

    # -- the engine protocol -------------------------------------------------------

    async def turn(self, request: TurnRequest) -> TurnResult:
        """Run one turn; raise a `ProviderError` on failure."""
        self.provider.check_options(request.options, request.mode)
        if request.mode == "local":
            return await self._local_turn(request)
        current, interaction = await self._create(request, stream=False)
        return await self._finish(request, current, interaction)

    async def stream(self, request: TurnRequest) -> AsyncIterator[StreamEvent | TurnResult]:
        """Run one turn streaming: text and tool-call events, then one `TurnResult`."""
        self.provider.check_options(request.options, request.mode)
        if request.mode == "local":
            async for item in self._local_stream(request):
                yield item
            return
        current, events = await self._create(request, stream=True)
        if hasattr(events, "model_dump"):  # the server answered with a whole interaction
            result = await self._finish(request, current, events)
            for item in leftover_events(result.output[0], "", set()):
                yield item
            yield result
            return
        assembly = InteractionStream(self.name)
        error: ThreadlineError | None = None
        interaction: dict[str, Any] | None = None
        try:
            async for event in events:
                for out in assembly.feed(_as_dict(event)):
                    yield out
            interaction = assembly.interaction()
        except self._errors as exc:
            error = await self._failure(request, exc)
        except _SHAPE_ERRORS as exc:  # an event that is not JSON, or not an event
            error = unreadable(
                self.name, f"a stream event of the wrong shape ({type(exc).__name__})"
            )
        finally:
            await events.close()
        if error is not None:
            raise error
        if interaction is None:
            raise transport_error(self.name, "the stream ended before interaction.completed")
        result = await self._finish(request, current, interaction)
        for item in leftover_events(result.output[0], assembly.text, assembly.calls):
            yield item
        yield result

    async def delete_native(self, native: NativeState) -> None:
        """Delete the session's chain, newest first; interactions already gone are skipped.

        Each interaction costs a ``get`` (for its ``previous_interaction_id``) and a
        ``delete``; the chain's first interaction (``data["root"]``) needs no ``get``.
        """
        if not native.handle or native.data.get("kind") != "interaction":
            return
        root = native.data.get("root")
        interaction_id: str | None = native.handle
        for _ in range(_CHAIN_LIMIT):
            if interaction_id is None:
                return
            previous: str | None = None
            error: ThreadlineError | None = None
            try:
                if interaction_id != root:
                    found = await self._client.aio.interactions.get(interaction_id)
                    previous = _as_dict(found).get("previous_interaction_id")
                await self._client.aio.interactions.delete(interaction_id)
            except self._errors as exc:
                error = map_error(exc, self.name)
            if error is not None and getattr(error, "status_code", None) != 404:
                raise error
            if error is not None and previous is None:
                return  # gone, and so is the way to its predecessors
            interaction_id = previous

    async def aclose(self) -> None:
        """Close the client threadline built (a client you passed is left open)."""
        if self._owns_client:
            await self._client.aio.aclose()
