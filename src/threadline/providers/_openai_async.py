"""The OpenAI engine, async face: how a turn runs on the Responses API.

The blocking twin (`_openai_sync.OpenAIEngine`, on an ``openai.OpenAI`` client) is
generated from this file. The modes, re-seeding and recovery are described in
`threadline.providers.openai`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from .._concurrency import ASYNC_FACE
from ..errors import AuthenticationError, ProviderError
from ..messages import Message
from . import _openai_wire as wire
from ._openai_errors import failure, lost_state, map_error
from ._sdk import check_client, require, transport_error, unreadable
from .base import NativeState, StreamEvent, TurnRequest, TurnResult
from .openai import NativeKind, OpenAIProvider

__all__ = ["AsyncOpenAIEngine"]

logger = logging.getLogger("threadline.providers.openai")

_SEED_CHUNK = 20  # the most items conversations.create / items.create take per call
_LIST_LIMIT = 100  # the most items one items.list page returns
_METADATA_KEY = "threadline_session_id"


@dataclass(slots=True)
class _Plan:
    """One ``responses.create`` call, or a turn found already done on the server."""

    kwargs: dict[str, Any]
    conversation: str | None = None
    references_state: bool = False
    """The call names server state that may have gone (conversation or previous response)."""
    recovered: TurnResult | None = None


class AsyncOpenAIEngine:
    """Runs OpenAI turns for an `AsyncSessionManager` (see `OpenAIProvider`)."""

    def __init__(self, provider: OpenAIProvider, client: Any) -> None:
        openai = self._sdk = require("openai", "openai")
        self.name = provider.name
        self.native: NativeKind = provider.native
        self._owns_client = client is None
        if client is None:
            from .._logs import ahttp_event_hooks

            try:
                client = openai.AsyncOpenAI(
                    max_retries=0,
                    http_client=openai.DefaultAsyncHttpxClient(
                        event_hooks=ahttp_event_hooks(self.name)
                    ),
                )
            except openai.OpenAIError:
                raise AuthenticationError(
                    "no API key: set OPENAI_API_KEY or pass OpenAIProvider(client=...)",
                    provider=self.name,
                ) from None
        check_client(self.name, client, openai.AsyncOpenAI, ASYNC_FACE)
        self._client: Any = client

    def _error(self, exc: Exception) -> ProviderError:
        return map_error(self._sdk, exc, self.name)

    # -- planning a turn -----------------------------------------------------------

    def _current(self, request: TurnRequest) -> NativeState | None:
        native = request.native_for(self.name)
        kind = "conversation" if self.native == "conversations" else "response"
        if native is None or native.handle is None or native.data.get("kind") != kind:
            return None
        return native

    def _reseed_event(self, request: TurnRequest, reason: str) -> None:
        request.hooks.event("threadline.native.reseed", reason=reason, items=request.history_count)
        logger.debug(
            "re-seeding server-side state from the mirror: session=%s reason=%s messages=%d",
            request.session_id,
            reason,
            request.history_count,
        )

    async def _plan(self, request: TurnRequest, *, lost: bool = False) -> _Plan:
        kwargs: dict[str, Any] = {"model": request.model, **request.options}
        if request.system:
            kwargs["instructions"] = request.system
        if request.tools:
            kwargs["tools"] = wire.tool_params(request.tools)
        new = wire.message_items(request.input)
        if request.mode == "local":
            items = wire.history_items(await request.aload_history())
            kwargs.update(store=False, input=items + new, include=["reasoning.encrypted_content"])
            return _Plan(kwargs)
        kwargs["store"] = True
        current = None if lost else self._current(request)
        # "stale": restored, forked, imported, handed over, or dropped after an
        # ambiguous failure; "lost": the server said it is gone.
        reason = "lost" if lost else "stale"
        if self.native == "responses":
            if current is not None:
                kwargs.update(previous_response_id=current.handle, input=new)
                return _Plan(kwargs, references_state=True)
            history = await request.aload_history()
            if history:
                self._reseed_event(request, reason)
            kwargs["input"] = wire.history_items(history) + new
            return _Plan(kwargs)
        if current is not None and request.ambiguous:
            # Some earlier attempt may have reached the server (even if the latest one
            # failed plainly, say timeout -> 503): check before sending the turn again.
            recovered = await self._landed(request, current)
            if recovered is not None:
                return _Plan(kwargs, recovered=recovered)
            if self._current(request) is None:  # the conversation diverged
                await self._discard(request, current)
                current = None
                reason = "diverged"
        seeded = current is None
        if current is None:
            current = await self._seed(request, reason)
        kwargs.update(conversation=current.handle, input=new)
        return _Plan(kwargs, conversation=current.handle, references_state=not seeded)

    async def _seed(self, request: TurnRequest, reason: str) -> NativeState:
        """A new conversation holding the mirrored history (at most 20 items per call).

        The new state is also put on ``request.native``: a retry of this same turn then
        continues in (and checks) this conversation instead of seeding another.
        """
        client = self._client
        history = await request.aload_history()
        items = wire.history_items(history)
        if history:
            self._reseed_event(request, reason)
        first: dict[str, Any] = {"metadata": {_METADATA_KEY: request.session_id}}
        if items:
            first["items"] = items[:_SEED_CHUNK]
        with request.hooks.server_call("create_conversation"):
            conversation = await client.conversations.create(**first)
        data: dict[str, Any] = {"kind": "conversation"}
        if not items:
            data["last_item_id"] = None  # known empty: a retry can tell what landed
        for start in range(_SEED_CHUNK, len(items), _SEED_CHUNK):
            with request.hooks.server_call("add_conversation_items"):
                added = await client.conversations.items.create(
                    conversation.id,
                    items=items[start : start + _SEED_CHUNK],
                )
            if added.data:
                data["last_item_id"] = added.data[-1].id
        state = NativeState(
            provider=self.name,
            handle=conversation.id,
            synced_count=request.history_count,
            data=data,
        )
        request.native = state
        return state

    async def _landed(self, request: TurnRequest, current: NativeState) -> TurnResult | None:
        """After an ambiguous failure: did the turn reach the conversation anyway?

        Returns the turn as the server holds it, or None if it is not there. If the
        conversation holds something else after the mirror's last item (a partial
        turn, an unknown anchor) it can no longer be trusted: ``request.native`` is
        cleared so the caller deletes it and re-seeds.
        """
        client = self._client
        assert current.handle is not None
        try:
            with request.hooks.server_call("list_conversation_items"):
                page = await client.conversations.items.list(
                    current.handle, order="desc", limit=_LIST_LIMIT
                )
        except self._sdk.NotFoundError:
            # The conversation is gone, so the turn cannot be in it: seed a new one.
            request.native = None
            return None
        items = [item.to_dict(warnings=False) for item in page.data]
        diverged = "last_item_id" not in current.data
        anchor = current.data.get("last_item_id")
        newer: list[dict[str, Any]] = []
        for item in items:
            if anchor is not None and item.get("id") == anchor:
                break
            newer.append(item)
        else:
            diverged = diverged or anchor is not None or bool(page.has_more)
        newer.reverse()
        if not diverged and not newer:
            return None  # nothing landed: send the turn as usual
        match = None if diverged else wire.match_turn(newer, request.input)
        if match is None:
            request.native = None
            return None
        input_id, output = match
        reply = wire.reply_from_items(output)
        request.hooks.event("threadline.native.recovered", items=len(newer))
        logger.debug(
            "turn found on the server after an ambiguous failure: session=%s", request.session_id
        )
        native = NativeState(
            provider=self.name,
            handle=current.handle,
            synced_count=request.history_count + 2,
            data={"kind": "conversation", "last_item_id": output[-1].get("id")},
        )
        return TurnResult(
            output=[reply],
            native=native,
            input_provider_id=input_id,
            finish_reasons=wire.finish_reasons("completed", None, reply),
        )

    async def _discard(self, request: TurnRequest, diverged: NativeState) -> None:
        """Delete a conversation the session stops using because it diverged, best effort.

        It holds a partial or unknown turn the mirror does not, and nothing will
        continue it. Failing to delete it must not fail the turn: it is logged (no
        content, no keys) and left to OpenAI's retention.
        """
        client = self._client
        try:
            with request.hooks.server_call("delete_conversation"):
                await client.conversations.delete(diverged.handle)
        except self._sdk.NotFoundError:
            return  # already gone
        except self._sdk.OpenAIError as exc:
            logger.warning(
                "could not delete the diverged conversation of session %s: %s",
                request.session_id,
                type(self._error(exc)).__name__,
            )

    # -- results -------------------------------------------------------------------

    def _result(self, request: TurnRequest, plan: _Plan, response: object) -> TurnResult:
        """The turn from a response's JSON (``response.completed`` or a plain reply);
        a response of the wrong shape is an ambiguous, unreadable reply."""
        if not isinstance(response, Mapping) or not isinstance(response.get("id"), str):
            raise unreadable(self.name, "no response object")
        if response.get("status") == "failed":
            error = response.get("error") or {}
            if not isinstance(error, Mapping):
                raise unreadable(self.name, "a failed response without an error object")
            raise failure(self.name, error.get("code"), str(error.get("message") or ""))
        try:
            return self._read(request, plan, response)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            # pydantic's ValidationError is a ValueError too: a part that does not fit.
            raise unreadable(
                self.name, f"unexpected response shape ({type(exc).__name__})"
            ) from None

    def _read(self, request: TurnRequest, plan: _Plan, response: Mapping[str, Any]) -> TurnResult:
        if response.get("status") == "failed":
            error = response.get("error") or {}
            raise failure(self.name, error.get("code"), error.get("message") or "")
        output: list[dict[str, Any]] = response["output"]
        replied = isinstance(output, list) and any(
            isinstance(item, Mapping) and item.get("type") in ("message", "function_call")
            for item in output
        )
        if not replied and response.get("status") != "incomplete":
            raise ValueError("no reply in the response")
        usage = wire.usage_from(response.get("usage"))
        reply = wire.reply_from_items(output, usage)
        incomplete = response.get("incomplete_details") or {}
        synced = request.history_count + 2
        native: NativeState | None = None
        if request.mode == "native" and self.native == "responses":
            native = NativeState(
                provider=self.name,
                handle=response["id"],
                synced_count=synced,
                data={"kind": "response"},
            )
        elif request.mode == "native":
            data: dict[str, Any] = {"kind": "conversation"}
            if output:
                data["last_item_id"] = output[-1].get("id")
            native = NativeState(
                provider=self.name, handle=plan.conversation, synced_count=synced, data=data
            )
        return TurnResult(
            output=[reply],
            usage=usage,
            native=native,
            response_id=response.get("id"),
            response_model=response.get("model"),
            finish_reasons=wire.finish_reasons(
                response.get("status"), incomplete.get("reason"), reply
            ),
        )

    # -- the provider protocol -----------------------------------------------------

    async def _create(self, request: TurnRequest, *, stream: bool) -> tuple[_Plan, Any]:
        """Plan and send the turn; re-seed once if the server lost its state.

        Without streaming the reply is taken as raw JSON (``with_raw_response``): the
        wire translation works on the API's own dicts, so building the SDK's models
        first would only cost time.
        """
        client = self._client
        if stream:
            create, extra = client.responses.create, {"stream": True}
        else:
            create, extra = client.responses.with_raw_response.create, {}
        plan = await self._plan(request)
        if plan.recovered is not None:
            return plan, None
        try:
            return plan, await create(**plan.kwargs, **extra)
        except self._sdk.APIStatusError as exc:
            if not plan.references_state or not lost_state(self._sdk, exc):
                raise
        plan = await self._plan(request, lost=True)
        return plan, await create(**plan.kwargs, **extra)

    async def turn(self, request: TurnRequest) -> TurnResult:
        try:
            plan, raw = await self._create(request, stream=False)
        except self._sdk.OpenAIError as exc:
            # Not chained: the SDK's exception text may quote the API key back.
            raise self._error(exc) from None
        if plan.recovered is not None:
            return plan.recovered
        try:
            response = json.loads(raw.content)
        except ValueError:
            raise unreadable(self.name, "the reply was not JSON") from None
        return self._result(request, plan, response)

    async def stream(self, request: TurnRequest) -> AsyncIterator[StreamEvent | TurnResult]:
        openai = self._sdk
        events: Any = None
        final: Any = None
        try:
            plan, events = await self._create(request, stream=True)
            if plan.recovered is not None:
                for event in _replay(plan.recovered.output[0]):
                    yield event
                yield plan.recovered
                return
            async for event in events:
                kind = event.type
                if kind == "response.output_text.delta":
                    yield StreamEvent(type="text", text=event.delta)
                elif kind == "response.output_item.done" and event.item.type == "function_call":
                    yield StreamEvent(
                        type="tool_call",
                        tool_call=wire.tool_call(event.item.to_dict(warnings=False)),
                    )
                elif kind in ("response.completed", "response.incomplete"):
                    final = event.response.to_dict(warnings=False)
                    break
                elif kind == "response.failed":
                    error = event.response.error
                    raise failure(
                        self.name, getattr(error, "code", None), getattr(error, "message", "")
                    )
                elif kind == "error":
                    raise failure(self.name, event.code, event.message)
        except openai.OpenAIError as exc:
            raise self._error(exc) from None
        except ProviderError:
            raise
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            # A data line that is not JSON, or an event of the wrong shape.
            raise unreadable(self.name, f"a broken stream event ({type(exc).__name__})") from None
        finally:
            if events is not None:
                await events.close()
        if final is None:
            raise transport_error(self.name, "the stream ended before response.completed")
        yield self._result(request, plan, final)

    async def delete_native(self, native: NativeState) -> None:
        """Delete the server conversation. Chained responses are left to expire."""
        if native.handle is None or native.data.get("kind") != "conversation":
            return
        client = self._client
        try:
            await client.conversations.delete(native.handle)
        except self._sdk.NotFoundError:
            return  # already gone: that is what we wanted
        except self._sdk.OpenAIError as exc:
            raise self._error(exc) from None

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.close()


def _replay(reply: Message) -> list[StreamEvent]:
    """Stream events for a reply recovered whole from the server."""
    events = [StreamEvent(type="text", text=reply.text)] if reply.text else []
    events.extend(StreamEvent(type="tool_call", tool_call=call) for call in reply.tool_calls)
    return events
