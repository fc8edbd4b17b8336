"""Pure assembly of Gemini streams: events in, `StreamEvent`s out, the whole reply at the end.

Both faces' engines feed the SDK's stream items (as dicts) to one of these and yield
what ``feed`` returns, so the stream logic is written once and unit-tested on literals:

- `InteractionStream`: Interactions SSE events, which name themselves in
  ``event_type`` (``interaction.created``, ``step.start``/``step.delta``/``step.stop``,
  ``interaction.status_update``, ``interaction.completed``, ``error``). With automatic
  continuation one stream holds several hops: an ``interaction.completed`` whose status
  is ``requires_continuation`` is followed by the next hop's ``interaction.created``.
  The result is one interaction: the last hop's id and status, every hop's steps,
  usage summed over hops (each hop reports only its own).
- `ContentStream`: ``streamGenerateContent`` chunks, each a response whose parts are
  deltas; text pieces are joined, calls arrive whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..messages import Message, ToolCallPart
from . import _google_content_wire as content_wire
from ._google_errors import failure
from ._google_wire import arguments
from ._sdk import unreadable
from .base import StreamEvent

__all__ = ["ContentStream", "InteractionStream", "leftover_events"]

Item = dict[str, Any]
_USAGE_KEYS = (
    "total_input_tokens",
    "total_output_tokens",
    "total_cached_tokens",
    "total_thought_tokens",
    "total_tool_use_tokens",
    "total_tokens",
)


class InteractionStream:
    """Assembles one streamed ``interactions.create`` (all its continuation hops)."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.hops: list[Item] = []
        """Each finished hop (``interaction.completed``), with its steps."""
        self.text = ""
        """The text streamed so far."""
        self.calls: set[str] = set()
        """Ids of the tool calls streamed so far."""
        self._steps: dict[int, Item] = {}
        self._arguments: dict[int, list[str]] = {}

    def feed(self, event: Mapping[str, Any]) -> list[StreamEvent]:
        """Take one event; return the stream events it completes. An ``error`` event
        raises the mapped `ProviderError` (an unreadable reply if it carries no error);
        an event of the wrong shape raises KeyError, TypeError or AttributeError."""
        kind = event.get("event_type")
        index = event.get("index")
        if kind == "interaction.created":
            self._steps, self._arguments = {}, {}
        elif kind == "step.start" and isinstance(index, int):
            step = dict(event.get("step") or {})
            self._steps[index] = step
            return [self._text(b.get("text", "")) for b in self._texts(step)]
        elif kind == "step.delta" and isinstance(index, int):
            return self._delta(self._steps.setdefault(index, {}), index, event.get("delta") or {})
        elif kind == "step.stop" and isinstance(index, int):
            return self._stop(index)
        elif kind == "interaction.completed":
            hop = dict(event.get("interaction") or {})
            if not hop.get("steps"):
                hop["steps"] = [self._steps[i] for i in sorted(self._steps)]
            self.hops.append(hop)
        elif kind == "error":
            error = event.get("error")
            if not isinstance(error, Mapping):
                # What the SDK makes of an event without ``event_type``: not a failure
                # the server reported, a reply that cannot be read.
                raise unreadable(self.provider, "an event without a type")
            raise failure(self.provider, error.get("code"), error.get("message"))
        return []

    @staticmethod
    def _texts(step: Mapping[str, Any]) -> list[Item]:
        if step.get("type") != "model_output":
            return []
        return [b for b in step.get("content") or () if b.get("type") == "text" and b.get("text")]

    def _text(self, text: str) -> StreamEvent:
        self.text += text
        return StreamEvent(type="text", text=text)

    def _delta(self, step: Item, index: int, delta: Mapping[str, Any]) -> list[StreamEvent]:
        kind = delta.get("type")
        if kind == "text":
            step.setdefault("type", "model_output")
            content = step.setdefault("content", [])
            text = str(delta.get("text", ""))
            if content and content[-1].get("type") == "text":
                content[-1] = {**content[-1], "text": content[-1].get("text", "") + text}
            else:
                content.append({"type": "text", "text": text})
            return [self._text(text)] if text else []
        if kind == "arguments_delta":
            self._arguments.setdefault(index, []).append(str(delta.get("arguments") or ""))
        elif kind == "thought_signature" and delta.get("signature"):
            step["signature"] = delta["signature"]
        elif kind == "thought_summary" and delta.get("content"):
            step.setdefault("summary", []).append(delta["content"])
        elif kind in ("image", "audio", "video", "document"):
            step.setdefault("type", "model_output")
            step.setdefault("content", []).append(dict(delta))
        return []

    def _stop(self, index: int) -> list[StreamEvent]:
        step = self._steps.get(index)
        if step is None or step.get("type") != "function_call":
            return []
        pieces = self._arguments.pop(index, None)
        if pieces:
            step["arguments"] = arguments("".join(pieces))
        call = ToolCallPart(
            call_id=str(step.get("id", "")),
            name=str(step.get("name", "")),
            arguments=dict(step.get("arguments") or {}),
        )
        self.calls.add(call.call_id)
        return [StreamEvent(type="tool_call", tool_call=call)]

    def interaction(self) -> Item | None:
        """The whole streamed interaction, or None if no hop finished."""
        if not self.hops:
            return None
        last = self.hops[-1]
        steps: list[Item] = []
        for number, hop in enumerate(self.hops):
            hop_steps = hop.get("steps") or []
            if number:  # a later hop may repeat the input; it is not part of the reply
                hop_steps = [s for s in hop_steps if s.get("type") != "user_input"]
            steps.extend(hop_steps)
        usage: Item = {}
        for hop in self.hops:
            for key in _USAGE_KEYS:
                value = (hop.get("usage") or {}).get(key)
                if isinstance(value, int):
                    usage[key] = usage.get(key, 0) + value
        return {
            **last,
            "steps": steps,
            "usage": usage,
            "continuation_ids": [h.get("id") for h in self.hops],
        }


class ContentStream:
    """Assembles one ``generate_content_stream`` into one response dict."""

    def __init__(self) -> None:
        self.parts: list[Item] = []
        self.text = ""
        self.calls: set[str] = set()
        self.last: Item = {}
        """The latest chunk's top-level fields (usage, ids, prompt feedback)."""
        self.finish_reason: str | None = None
        self.chunks = 0

    def feed(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        """Take one chunk; return the stream events it completes."""
        self.chunks += 1
        self.last = {k: v for k, v in chunk.items() if k != "candidates"}
        candidates = chunk.get("candidates") or []
        if not candidates:
            return []
        candidate = candidates[0]
        self.finish_reason = candidate.get("finish_reason") or self.finish_reason
        events: list[StreamEvent] = []
        for part in (candidate.get("content") or {}).get("parts") or ():
            events.extend(self._part(dict(part)))
        return events

    def _part(self, part: Item) -> list[StreamEvent]:
        previous = self.parts[-1] if self.parts else None
        plain = "text" in part and not part.get("thought")
        if plain and previous is not None and _joinable(previous, part):
            previous["text"] = previous.get("text", "") + part.get("text", "")
            if part.get("thought_signature"):
                previous["thought_signature"] = part["thought_signature"]
        else:
            self.parts.append(part)
        if plain and part.get("text"):
            self.text += part["text"]
            return [StreamEvent(type="text", text=part["text"])]
        function_call = part.get("function_call")
        if function_call:
            call = content_wire.call_from_part(function_call)
            part["function_call"] = {**function_call, "id": call.call_id}
            self.calls.add(call.call_id)
            return [StreamEvent(type="tool_call", tool_call=call)]
        return []

    def response(self) -> Item:
        """The chunks as one generateContent response (``candidates`` empty if none came)."""
        candidates = []
        if self.parts or self.finish_reason:
            candidates.append(
                {
                    "content": {"role": "model", "parts": self.parts},
                    "finish_reason": self.finish_reason,
                }
            )
        return {**self.last, "candidates": candidates}


def _joinable(previous: Mapping[str, Any], part: Mapping[str, Any]) -> bool:
    """Whether a text delta continues the previous text part (same kind, and the
    previous one carries no signature yet that would then move)."""
    return (
        "text" in previous
        and not previous.get("thought")
        and not previous.get("thought_signature")
        and not (part.get("thought_signature") and part.get("text"))
    )


def leftover_events(reply: Message, text: str, calls: set[str]) -> list[StreamEvent]:
    """Stream events for what the final reply holds but the stream never sent (a server
    that put everything in the closing event)."""
    events = [StreamEvent(type="text", text=reply.text)] if reply.text and not text else []
    events.extend(
        StreamEvent(type="tool_call", tool_call=call)
        for call in reply.tool_calls
        if call.call_id not in calls
    )
    return events
