"""Pure translation between threadline messages and generateContent ``contents`` (local mode).

The sibling of `_google_wire` (which holds the Interactions translation and the
helpers both share): no I/O, no SDK import, unit-tested on literals. The dicts are
the SDK's snake_case ``Content``/``Part`` forms; the SDK turns them into the camelCase
wire.

- user message → ``user`` content (``text``, ``inline_data`` for bytes and ``data:``
  URLs, ``file_data`` for URLs and file ids).
- tool message → ``user`` content of ``function_response`` parts; each names its
  tool (found in the history) and wraps the output as ``{"output": ...}`` unless it
  is already an object (``{"error": ...}`` for an error result).
- assistant message ↔ ``model`` content: text → `TextPart`, ``function_call`` →
  `ToolCallPart` (an id is made up, with a prefix that keeps it from being sent back,
  when the server sent none), images → `ImagePart`. Other parts (thought summaries,
  code execution) → ``ProviderPart("google", "part", <the part>)``; a
  ``thought_signature`` on a text or call part → ``ProviderPart("google",
  "signature", ...)`` just before that part, and it goes back on the same part. Both
  are re-sent only to generateContent (Interactions has its own thought steps).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from ..messages import (
    FilePart,
    ImagePart,
    Message,
    Part,
    ProviderPart,
    TextPart,
    Tool,
    ToolCallPart,
    ToolResult,
    Usage,
)
from ._google_wire import PROVIDER, Item, arguments, b64, count, split_data_url

__all__ = [
    "LOCAL_CALL_PREFIX",
    "call_from_part",
    "content_tools",
    "content_usage",
    "contents",
    "reply_from_response",
]

LOCAL_CALL_PREFIX = "gcall_"
"""Call ids threadline made up for calls the server sent without one (never sent back)."""

_FINISH = {"STOP": "stop", "MAX_TOKENS": "length"}
_FILTERED = frozenset(
    {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"}
)


# -- threadline -> wire ----------------------------------------------------------


def _media_part(part: ImagePart | FilePart) -> Item:
    inline = split_data_url(part.url) if part.url else None
    if part.data is not None:
        inline = (part.media_type, b64(part.data))
    if inline is not None:
        media = part.media_type or inline[0] or "application/octet-stream"
        return {"inline_data": {"mime_type": media, "data": inline[1]}}
    uri = part.file_id if isinstance(part, FilePart) and part.file_id else part.url
    file_data: Item = {"file_uri": uri}
    if part.media_type:
        file_data["mime_type"] = part.media_type
    return {"file_data": file_data}


def _call_part(call: ToolCallPart) -> Item:
    function_call: Item = {"name": call.name, "args": call.arguments}
    if not call.call_id.startswith(LOCAL_CALL_PREFIX):
        function_call["id"] = call.call_id
    return {"function_call": function_call}


def _response_part(result: ToolResult, name: str) -> Item:
    output = result.output
    if result.is_error:
        response: Item = {"error": output}
    else:
        response = output if isinstance(output, dict) else {"output": output}
    function_response: Item = {"name": name, "response": response}
    if not result.call_id.startswith(LOCAL_CALL_PREFIX):
        function_response["id"] = result.call_id
    return {"function_response": function_response}


def _model_parts(message: Message) -> list[Item]:
    out: list[Item] = []
    signature: str | None = None
    for part in message.parts:
        item: Item | None = None
        if isinstance(part, ProviderPart):
            if part.provider == PROVIDER and part.kind == "signature":
                signature = part.data.get("thought_signature")
            elif part.provider == PROVIDER and part.kind == "part":
                out.append(dict(part.data))
            continue
        if isinstance(part, TextPart):
            item = {"text": part.text}
        elif isinstance(part, ToolCallPart):
            item = _call_part(part)
        elif isinstance(part, ImagePart | FilePart):
            item = _media_part(part)
        if item is not None:
            if signature:
                item["thought_signature"] = signature
            signature = None
            out.append(item)
    return out


def _content(message: Message, names: Mapping[str, str]) -> Item | None:
    if message.role == "assistant":
        parts = _model_parts(message)
        return {"role": "model", "parts": parts} if parts else None
    if message.role == "tool":
        parts = [
            _response_part(p, names.get(p.call_id, p.call_id))
            for p in message.parts
            if isinstance(p, ToolResult)
        ]
    else:
        parts = []
        for part in message.parts:
            if isinstance(part, TextPart):
                parts.append({"text": part.text})
            elif isinstance(part, ImagePart | FilePart):
                parts.append(_media_part(part))
    return {"role": "user", "parts": parts} if parts else None


def contents(messages: Sequence[Message]) -> list[Item]:
    """The whole conversation as generateContent ``contents``, oldest first."""
    names = {p.call_id: p.name for m in messages for p in m.parts if isinstance(p, ToolCallPart)}
    return [c for c in (_content(m, names) for m in messages) if c is not None]


def content_tools(tools: Sequence[Tool]) -> list[Item]:
    """One ``Tool`` holding a function declaration per tool (any JSON schema)."""
    declarations = [
        {"name": t.name, "description": t.description, "parameters_json_schema": t.parameters}
        for t in tools
    ]
    return [{"function_declarations": declarations}]


# -- wire -> threadline ----------------------------------------------------------


def call_from_part(function_call: Mapping[str, Any]) -> ToolCallPart:
    """A ``function_call`` as a `ToolCallPart` (an id is made up if the server sent none)."""
    call_id = function_call.get("id") or f"{LOCAL_CALL_PREFIX}{uuid.uuid4().hex[:16]}"
    return ToolCallPart(
        call_id=str(call_id),
        name=str(function_call.get("name", "")),
        arguments=arguments(function_call.get("args")),
    )


def _parts_from_model(parts: Sequence[Mapping[str, Any]]) -> list[Part]:
    out: list[Part] = []
    for part in parts:
        signature = part.get("thought_signature")
        inline = part.get("inline_data")
        if part.get("thought") or not ("text" in part or part.get("function_call") or inline):
            out.append(ProviderPart(provider=PROVIDER, kind="part", data=dict(part)))
            continue
        if signature:
            out.append(
                ProviderPart(
                    provider=PROVIDER, kind="signature", data={"thought_signature": signature}
                )
            )
        if part.get("function_call"):
            out.append(call_from_part(part["function_call"]))
        elif inline:
            media = inline.get("mime_type")
            kind = ImagePart if str(media).startswith("image/") else FilePart
            out.append(kind(data=base64.b64decode(inline.get("data") or ""), media_type=media))
        else:
            out.append(TextPart(text=str(part.get("text", ""))))
    return out


def reply_from_response(response: Mapping[str, Any]) -> tuple[Message, tuple[str, ...]]:
    """The reply and finish reasons of a generateContent response (first candidate).

    Raises ``KeyError`` when there is no candidate: the caller decides whether that
    is a blocked prompt or an unreadable reply.
    """
    candidate = response["candidates"][0]
    content = candidate.get("content") or {}
    reply = Message(
        role="assistant",
        parts=_parts_from_model(content.get("parts") or ()),
        usage=content_usage(response.get("usage_metadata")),
        provider_id=response.get("response_id"),
    )
    reason = str(candidate.get("finish_reason") or "STOP")
    if reply.tool_calls:
        finish = "tool_call"
    elif reason in _FILTERED:
        finish = "content_filter"
    else:
        finish = _FINISH.get(reason, reason.lower())
    return reply, (finish,)


def content_usage(usage: Mapping[str, Any] | None) -> Usage:
    """Token counts from generateContent ``usage_metadata``."""
    if not usage:
        return Usage()
    return Usage(
        input_tokens=count(usage, "prompt_token_count")
        + count(usage, "tool_use_prompt_token_count"),
        output_tokens=count(usage, "candidates_token_count") + count(usage, "thoughts_token_count"),
        cached_input_tokens=count(usage, "cached_content_token_count"),
    )
