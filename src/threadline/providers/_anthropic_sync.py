# GENERATED from src/threadline/providers/_anthropic_async.py by scripts/gen_sync.py: do not edit.
# Edit the async source and run `make generate`.
"""The Anthropic engine: runs the turns of a manager (`SessionManager`) on an SDK
client (``anthropic.Anthropic``).

Written once, async: ``scripts/gen_sync.py`` derives the blocking face from this
module (see docs/architecture.md), so both faces run the same lines. The engine only
talks to the SDK: what a turn sends is planned in ``_anthropic_plan.py``, messages
are translated in ``_anthropic_wire.py`` and errors mapped in ``_anthropic_errors.py``.

One turn is one ``beta.messages.create`` call, sent once more within the same attempt
when the server rejects it in a way the mirror can fix: a thread it cannot continue
(re-seeded under a new thread) or a request it cannot thread (sent unthreaded).
Replies are read as raw JSON, or assembled from the SSE events of a stream; a stream
that ends before ``message_stop`` is an ambiguous, retryable error. Every error is
raised outside the ``except`` that caught the SDK's, so neither ``__cause__`` nor
``__context__`` leads back to the SDK exception (which holds the request and its key).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .._concurrency import SYNC_FACE
from ..errors import AuthenticationError, ThreadlineError, ValidationError
from ..messages import ToolCallPart
from . import _anthropic_plan as plans
from . import _anthropic_wire as wire
from ._anthropic_errors import malformed, map_error, reseed_code, unsupported_features
from ._sdk import check_client, redact, require, transport_error
from .anthropic import NO_KEY
from .base import NativeState, StreamEvent, TurnRequest, TurnResult

if TYPE_CHECKING:
    from .anthropic import AnthropicProvider

__all__ = ["AnthropicEngine"]

# What a reply of the wrong shape raises while it is read.
_SHAPE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError)


class AnthropicEngine:
    """Runs turns on an ``anthropic.Anthropic`` client (see the module docstring)."""

    def __init__(self, provider: AnthropicProvider, client: Any = None) -> None:
        anthropic = require("anthropic", "anthropic")
        self._sdk = anthropic
        self._httpx2 = require("httpx2", "anthropic")
        self.provider = provider
        self.name = provider.name
        self._owns_client = client is None
        if client is None:
            from .._logs import http_event_hooks

            try:
                client = anthropic.Anthropic(
                    max_retries=0,
                    open_telemetry=False,
                    http_client=anthropic.DefaultHttpxClient(
                        event_hooks=http_event_hooks(self.name)
                    ),
                )
            except anthropic.AnthropicError:  # a credentials profile it could not read
                raise AuthenticationError(NO_KEY, provider=self.name) from None
        check_client(self.name, client, anthropic.Anthropic, SYNC_FACE)
        self._client = client
        self._messages = client.beta.messages

    # -- the engine protocol ---------------------------------------------------------

    def turn(self, request: TurnRequest) -> TurnResult:
        """Run one turn; raise a `ProviderError` on failure."""
        plan, raw = self._open(request, stream=False)
        return self._result(request, plan, self._read(raw))

    def stream(self, request: TurnRequest) -> Iterator[StreamEvent | TurnResult]:
        """Run one turn streaming: text and tool-call events, then one `TurnResult`."""
        plan, events = self._open(request, stream=True)
        builder = wire.ReplyBuilder()
        try:
            while True:
                event = self._next_event(events)
                if event is None:
                    break
                shown = self._feed(builder, event)
                if isinstance(shown, ToolCallPart):
                    yield StreamEvent(type="tool_call", tool_call=shown)
                elif shown:
                    yield StreamEvent(type="text", text=shown)
        finally:
            events.close()
        if not builder.complete:
            raise transport_error(self.name, "the stream ended before message_stop")
        yield self._result(request, plan, builder)

    def delete_native(self, native: NativeState) -> None:
        """Nothing to delete: threads have no delete endpoint and expire server-side."""
        return None

    def close(self) -> None:
        """Close the client, if this engine built it."""
        if self._owns_client:
            self._client.close()

    # -- one call --------------------------------------------------------------------

    def _open(self, request: TurnRequest, *, stream: bool) -> tuple[plans.Plan, Any]:
        """Plan and send the turn: the raw reply, or the SDK's event stream.

        A rejection the mirror can fix is answered by sending the turn again: at most
        twice more (continue → create → unthreaded), so this ends.
        """
        if self._owns_client and not _has_credentials(self._client):
            raise AuthenticationError(NO_KEY, provider=self.name)
        plan = self._plan(request, plans.decide(request))
        if stream:
            create, extra = self._messages.create, {"stream": True}
        else:
            create, extra = self._messages.with_raw_response.create, {}
        while True:
            failure: ThreadlineError | None = None
            instead: plans.Decision | None = None
            try:
                return plan, create(**plan.kwargs, **extra)
            except self._sdk.APIStatusError as exc:
                instead = plans.after_rejection(
                    request,
                    plan,
                    reseed_code=reseed_code(exc),
                    unsupported=unsupported_features(exc),
                )
                if instead is None:
                    failure = map_error(self._sdk, exc, self.name)
            except self._sdk.AnthropicError as exc:
                failure = map_error(self._sdk, exc, self.name)
            except (TypeError, ValueError) as exc:  # the SDK refused the arguments unsent
                failure = ValidationError(f"Anthropic refused the request: {redact(str(exc))}")
            if failure is not None:
                raise failure
            assert instead is not None
            plan = self._plan(request, instead)

    def _plan(self, request: TurnRequest, decision: plans.Decision) -> plans.Plan:
        if decision.needs_history:
            request.load_history()
        return plans.build(request, decision, max_tokens=self.provider.max_tokens)

    def _read(self, raw: Any) -> Any:
        """The JSON of a raw (non-streamed) reply."""
        failure: ThreadlineError
        try:
            return json.loads(raw.read())
        except self._sdk.AnthropicError as exc:
            failure = map_error(self._sdk, exc, self.name)
        except self._httpx2.HTTPError:
            failure = transport_error(self.name, "the connection was cut while reading the reply")
        except ValueError:
            failure = malformed(self.name, "the reply was not JSON")
        raise failure

    def _next_event(self, events: Any) -> Any:
        """The stream's next event, or None at its end."""
        failure: ThreadlineError
        try:
            return next(events, None)
        except self._sdk.AnthropicError as exc:  # an ``error`` event
            failure = map_error(self._sdk, exc, self.name)
        except self._httpx2.HTTPError:
            failure = transport_error(self.name, "the connection was cut mid-stream")
        except ValueError:
            failure = malformed(self.name, "an event of the stream was not JSON")
        raise failure

    def _feed(self, builder: wire.ReplyBuilder, event: Any) -> str | ToolCallPart | None:
        failure: ThreadlineError
        try:
            # The frequent events are read off the SDK's objects; the others go whole
            # (as JSON dicts) to the builder. Fields of the wrong type are dumped as they
            # came, without pydantic's serializer warnings: the builder refuses them.
            kind = event.type
            if kind == "content_block_delta":
                delta = event.delta
                if delta.type == "text_delta":
                    return builder.text(event.index, delta.text)
                if delta.type == "input_json_delta":
                    builder.partial_json(event.index, delta.partial_json)
                    return None
            elif kind == "content_block_stop":
                return builder.stop(event.index)
            return builder.feed(event.to_dict(warnings=False))
        except _SHAPE_ERRORS:
            failure = malformed(self.name, "the stream did not have the expected shape")
        raise failure

    def _result(
        self, request: TurnRequest, plan: plans.Plan, reply: wire.ReplyBuilder | Any
    ) -> TurnResult:
        failure: ThreadlineError
        try:
            message = reply.result() if isinstance(reply, wire.ReplyBuilder) else reply
            return plans.result(request, plan, message)
        except _SHAPE_ERRORS:
            failure = malformed(self.name, "the reply did not have the expected shape")
        raise failure


def _has_credentials(client: Any) -> bool:
    return any(
        getattr(client, name, None) is not None for name in ("api_key", "auth_token", "credentials")
    )
