"""``echo``: an offline provider that needs no network or key.

It answers ``echo: <last user text>``, streams it word by word and counts tokens as
words. It also plays a provider with server-side state: in native mode it keeps each
conversation in this provider object (its "server") under a handle ``echo_conv_…``,
so lost state, re-seeding, restore, fork and hand-off behave as they do with a real
provider. A new process has an empty server, exactly like an expired conversation.

Tools, offline: offer tools with ``send(..., tools=[...])`` and send the text
``/tool NAME {"json": "arguments"}``; the reply is a `ToolCallPart` for NAME. Send the
`ToolResult` back and echo answers ``echo: NAME returned <output>``.

Faults, for testing retries and failure handling: ``EchoProvider(faults=[err, None])``
raises ``err`` on the next model call, then answers the one after (``None`` = answer).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from .._ids import new_id
from ..errors import ProviderError
from ..messages import Message, TextPart, ToolCallPart, ToolResult, Usage
from ._config import SdkProvider
from .base import Capabilities, NativeState, StreamEvent, TurnRequest, TurnResult

__all__ = ["EchoProvider"]


def _words(messages: Iterable[Message]) -> int:
    return sum(len(_content_text(m).split()) for m in messages)


def _content_text(message: Message) -> str:
    pieces = []
    for part in message.parts:
        if isinstance(part, TextPart):
            pieces.append(part.text)
        elif isinstance(part, ToolResult):
            pieces.append(part.output_text())
        elif isinstance(part, ToolCallPart):
            pieces.append(f"{part.name} {json.dumps(part.arguments)}")
        else:
            pieces.append(f"[{part.type}]")
    return " ".join(pieces)


class EchoProvider(SdkProvider):
    """The offline provider (see the module docstring). Its state (the simulated
    server, the fault queue, the call count) is shared by both faces' engines."""

    name = "echo"
    system_name = "echo"
    default_model = "echo-1"
    capabilities = Capabilities(native_state=True, delete_native=True)
    _engine_module = "._echo"
    _engine_class = "EchoEngine"

    def __init__(self, *, faults: Iterable[ProviderError | None] = ()) -> None:
        super().__init__()
        self.faults: list[ProviderError | None] = list(faults)
        self.conversations: dict[str, list[Message]] = {}
        """The simulated server-side state: handle -> messages it holds."""
        # Running word totals per conversation, so a turn costs the same at any length.
        self._words_held: dict[str, int] = {}
        # Threads share one provider (one manager, several handles): a turn on a
        # conversation and its deletion by another thread must not interleave.
        self._server = threading.Lock()
        self.calls = 0
        """Model calls made (including failed ones)."""

    # -- the turn ------------------------------------------------------------------

    def _reply(self, request: TurnRequest, history: Sequence[Message]) -> Message:
        message = request.input
        results = [p for p in message.parts if isinstance(p, ToolResult)]
        if results:
            names = {c.call_id: c.name for m in history for c in m.tool_calls}
            text = "; ".join(
                f"echo: {names.get(r.call_id, r.call_id)} returned {r.output_text()}"
                for r in results
            )
            return Message.assistant(text)
        text = message.text
        offered = {t.name for t in request.tools}
        if text.startswith("/tool ") and offered:
            name, _, raw = text[len("/tool ") :].partition(" ")
            if name in offered:
                try:
                    arguments: Any = json.loads(raw) if raw.strip() else {}
                except (json.JSONDecodeError, RecursionError):  # not JSON, or too deep
                    arguments = {"input": raw}
                if not isinstance(arguments, dict):
                    arguments = {"input": arguments}
                call = ToolCallPart(call_id=new_id("call"), name=name, arguments=arguments)
                return Message(role="assistant", parts=[call])
        return Message.assistant(f"echo: {text or _content_text(message)}")

    def held(self, request: TurnRequest) -> list[Message] | None:
        """The server's copy of the conversation, if the request may continue it."""
        if request.mode != "native":
            return None
        current = request.native_for(self.name)
        if current is None or current.handle is None:
            return None
        return self.conversations.get(current.handle)

    def _run(self, request: TurnRequest, history: Sequence[Message]) -> TurnResult:
        """One turn. ``history`` is the mirror's, or the server's copy when current."""
        self.calls += 1
        if self.faults:
            fault = self.faults.pop(0)
            if fault is not None:
                raise fault
        reply = self._reply(request, history)
        input_words, reply_words = _words([request.input]), _words([reply])
        native: NativeState | None = None
        cached = 0
        if request.mode == "native":
            with self._server:
                current = request.native_for(self.name)
                handle = current.handle if current is not None else None
                if handle is None or handle not in self.conversations:
                    # No usable server-side state: seed a new conversation from the mirror.
                    if history:
                        reason = "lost" if current else "stale"
                        request.hooks.event(
                            "threadline.native.reseed", reason=reason, items=len(history)
                        )
                    handle = new_id("echo_conv")
                    self.conversations[handle] = list(history)
                    self._words_held[handle] = _words(history)
                else:
                    cached = self._words_held[handle]
                held = self.conversations[handle]
                context_words = self._words_held[handle]
                held.extend([request.input, reply])
                self._words_held[handle] += input_words + reply_words
                native = NativeState(provider=self.name, handle=handle, synced_count=len(held))
        else:
            context_words = _words(history)
        prompt = context_words + input_words + len((request.system or "").split())
        usage = Usage(input_tokens=prompt, output_tokens=reply_words, cached_input_tokens=cached)
        reply = reply.model_copy(update={"usage": usage, "provider_id": new_id("echo_item")})
        return TurnResult(
            output=[reply],
            usage=usage,
            native=native,
            response_id=new_id("echo_resp"),
            response_model=request.model,
            finish_reasons=("tool_call" if reply.tool_calls else "stop",),
        )

    def _events(self, result: TurnResult) -> list[StreamEvent]:
        """The reply as stream events: word by word, then its tool calls."""
        reply = result.output[0]
        words = reply.text.split(" ")
        events = [
            StreamEvent(type="text", text=word if i == 0 else " " + word)
            for i, word in enumerate(words)
            if word or i
        ]
        events.extend(StreamEvent(type="tool_call", tool_call=call) for call in reply.tool_calls)
        return events

    def _forget(self, native: NativeState) -> None:
        if native.handle is not None:
            with self._server:
                self.conversations.pop(native.handle, None)
                self._words_held.pop(native.handle, None)
