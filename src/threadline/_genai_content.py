"""Opt-in message content for telemetry, in the GenAI semantic conventions' JSON shape.

Content is personal data, so nothing here runs unless the user asks for it with
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` (the variable every OpenTelemetry
GenAI instrumentation reads, so one setting covers threadline and the SDKs next to it):

- unset, ``false``, ``NO_CONTENT`` or anything unknown: no content anywhere;
- ``true`` or ``SPAN_ONLY``: ``gen_ai.input.messages``, ``gen_ai.output.messages`` and
  ``gen_ai.system_instructions`` as JSON string attributes on the model call's span;
- ``EVENT_ONLY``: the same three on one ``gen_ai.client.inference.operation.details``
  span event instead (for backends that index events, not attributes);
- ``SPAN_AND_EVENT``: both.

The shapes follow the conventions' input/output message schemas: a message is
``{"role", "parts": [...]}`` (output messages add ``finish_reason``), and a part is
``{"type": "text", "content"}``, ``{"type": "tool_call", "id", "name", "arguments"}``,
``{"type": "tool_call_response", "id", "response"}``, ``blob``/``uri``/``file`` for media,
or ``{"type": <kind>}`` for provider-only parts (their data may be encrypted, and is
never recorded). threadline's own parts were shaped after these, so this is a renaming.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .messages import FilePart, ImagePart, Message, Part, TextPart, ToolCallPart, ToolResult

CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"

GEN_AI_INPUT_MESSAGES = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
DETAILS_EVENT = "gen_ai.client.inference.operation.details"


@dataclass(frozen=True, slots=True)
class ContentCapture:
    """Where message content goes: span attributes, a span event, both or neither."""

    on_span: bool = False
    on_event: bool = False

    @property
    def enabled(self) -> bool:
        return self.on_span or self.on_event

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> ContentCapture:
        value = environ.get(CAPTURE_ENV, "").strip().upper()
        if value in ("TRUE", "SPAN_ONLY"):
            return cls(on_span=True)
        if value == "EVENT_ONLY":
            return cls(on_event=True)
        if value == "SPAN_AND_EVENT":
            return cls(on_span=True, on_event=True)
        return cls()


def _modality(media_type: str | None, default: str) -> str:
    major = (media_type or "").partition("/")[0]
    return major if major in ("image", "audio", "video") else default


def part_json(part: Part) -> dict[str, Any]:
    """One threadline part as a conventions message part."""
    if isinstance(part, TextPart):
        return {"type": "text", "content": part.text}
    if isinstance(part, ToolCallPart):
        return {
            "type": "tool_call",
            "id": part.call_id,
            "name": part.name,
            "arguments": part.arguments,
        }
    if isinstance(part, ToolResult):
        return {"type": "tool_call_response", "id": part.call_id, "response": part.output}
    if isinstance(part, ImagePart | FilePart):
        default = "image" if isinstance(part, ImagePart) else "document"
        media: dict[str, Any] = {"modality": _modality(part.media_type, default)}
        if part.media_type:
            media["mime_type"] = part.media_type
        if isinstance(part, FilePart) and part.file_id:
            return {"type": "file", "file_id": part.file_id, **media}
        if part.url is not None:
            return {"type": "uri", "uri": part.url, **media}
        return {"type": "blob", "content": part.data_url().partition(",")[2], **media}
    return {"type": part.kind}


def message_json(message: Message, finish_reason: str | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"role": message.role, "parts": [part_json(p) for p in message.parts]}
    if finish_reason is not None:
        doc["finish_reason"] = finish_reason
    return doc


def _dumps(value: Any) -> str:
    # default=str: tool outputs are user data and may hold values JSON cannot.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def input_messages(messages: Iterable[Message]) -> str:
    return _dumps([message_json(m) for m in messages])


def output_messages(messages: Sequence[Message], finish_reasons: Sequence[str]) -> str:
    """Output messages, each with its finish reason (the last known one if fewer)."""
    docs = []
    for i, message in enumerate(messages):
        if i < len(finish_reasons):
            reason = finish_reasons[i]
        else:
            reason = finish_reasons[-1] if finish_reasons else "stop"
        docs.append(message_json(message, reason))
    return _dumps(docs)


def system_instructions(system: str) -> str:
    return _dumps([{"type": "text", "content": system}])
