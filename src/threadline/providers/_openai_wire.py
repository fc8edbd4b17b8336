"""Pure translation between threadline messages and OpenAI Responses API items.

No I/O and no SDK import: items are the plain JSON dicts the API sends and takes
(``response.output[i].to_dict()``, conversation items), so every rule here is
unit-tested on literals.

Mapping (threadline → wire, and back):

- user message → one ``message`` item (``input_text`` / ``input_image`` / ``input_file``;
  a lone text part is sent as a plain string, the smallest form).
- tool message → one ``function_call_output`` item per `ToolResult`.
- assistant message ← the output items of one response, in order: ``message`` text
  → `TextPart`, ``function_call`` → `ToolCallPart`, ``reasoning`` →
  ``ProviderPart("openai", "reasoning", item)``, anything else → an ``openai``
  `ProviderPart` named after its type (kept, never re-sent). Going back, text becomes
  an assistant message, tool calls ``function_call`` items, and reasoning items are
  re-sent only when they carry ``encrypted_content`` (the only form a stateless
  request or a fresh conversation can use).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
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

__all__ = [
    "PROVIDER",
    "history_items",
    "is_context_overflow",
    "match_turn",
    "message_items",
    "reply_from_items",
    "tool_params",
    "usage_from",
]

PROVIDER = "openai"
Item = dict[str, Any]


# -- threadline -> wire ------------------------------------------------------------


def _content(part: Part) -> Item | None:
    if isinstance(part, TextPart):
        return {"type": "input_text", "text": part.text}
    if isinstance(part, ImagePart):
        return {
            "type": "input_image",
            "image_url": part.data_url(),
            "detail": part.detail or "auto",
        }
    if isinstance(part, FilePart):
        item: Item = {"type": "input_file"}
        if part.file_id is not None:
            item["file_id"] = part.file_id
        elif part.url is not None:
            item["file_url"] = part.url
        else:
            item["file_data"] = part.data_url()
        if part.filename is not None:
            item["filename"] = part.filename
        return item
    return None  # tool parts and other providers' parts have no place in a user message


def _user_item(message: Message, role: str) -> Item:
    parts = message.parts
    if len(parts) == 1 and isinstance(parts[0], TextPart):
        return {"role": role, "content": parts[0].text}
    content = [c for c in map(_content, parts) if c is not None]
    return {"type": "message", "role": role, "content": content}


def _assistant_items(message: Message) -> list[Item]:
    items: list[Item] = []
    text: list[str] = []

    def flush() -> None:
        if text:
            items.append({"role": "assistant", "content": "".join(text)})
            text.clear()

    for part in message.parts:
        if isinstance(part, TextPart):
            text.append(part.text)
        elif isinstance(part, ToolCallPart):
            flush()
            items.append(
                {
                    "type": "function_call",
                    "call_id": part.call_id,
                    "name": part.name,
                    "arguments": json.dumps(part.arguments),
                }
            )
        elif (
            isinstance(part, ProviderPart)
            and part.provider == PROVIDER
            and part.kind == "reasoning"
            and part.data.get("encrypted_content")
        ):
            flush()
            items.append(dict(part.data))
    flush()
    return items


def message_items(message: Message) -> list[Item]:
    """The wire items for one mirrored message (empty if nothing of it can be sent)."""
    if message.role == "assistant":
        return _assistant_items(message)
    if message.role == "tool":
        return [
            {"type": "function_call_output", "call_id": p.call_id, "output": p.output_text()}
            for p in message.parts
            if isinstance(p, ToolResult)
        ]
    if message.role == "system":
        return [{"role": "system", "content": message.text}]
    return [_user_item(message, "user")]


def history_items(messages: Iterable[Message]) -> list[Item]:
    """The whole mirrored history as input items, oldest first."""
    return [item for message in messages for item in message_items(message)]


def tool_params(tools: Sequence[Tool]) -> list[Item]:
    """Function tools. ``strict`` is off: threadline tools may use any JSON schema."""
    return [
        {
            "type": "function",
            "name": t.name,
            "description": t.description,
            "parameters": t.parameters,
            "strict": False,
        }
        for t in tools
    ]


# -- wire -> threadline ------------------------------------------------------------


def _arguments(raw: object) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        parsed = json.loads(raw) if isinstance(raw, str) and raw.strip() else {}
    except json.JSONDecodeError:
        return {"input": raw}
    return parsed if isinstance(parsed, dict) else {"input": parsed}


def tool_call(item: Mapping[str, Any]) -> ToolCallPart:
    """A ``function_call`` item as a `ToolCallPart`."""
    return ToolCallPart(
        call_id=str(item["call_id"]),
        name=str(item["name"]),
        arguments=_arguments(item.get("arguments")),
    )


def _without_none(item: Mapping[str, Any]) -> Item:
    return {k: v for k, v in item.items() if v is not None}


def reply_from_items(items: Sequence[Mapping[str, Any]], usage: Usage | None = None) -> Message:
    """One assistant message from the output items of one response, in order.

    ``provider_id`` is the id of the first ``message`` item (else of the first item).
    """
    parts: list[Part] = []
    provider_id: str | None = None
    for item in items:
        kind = item.get("type")
        if kind == "message":
            provider_id = provider_id or item.get("id")
            contents = item.get("content")
            if not isinstance(contents, list) or not contents:
                raise ValueError("a message item without content")
            for content in contents:
                if content.get("type") == "output_text":
                    parts.append(TextPart(text=content.get("text", "")))
                elif content.get("type") == "refusal":
                    parts.append(TextPart(text=content.get("refusal", "")))
        elif kind == "function_call":
            parts.append(tool_call(item))
        else:
            parts.append(ProviderPart(provider=PROVIDER, kind=str(kind), data=_without_none(item)))
    if provider_id is None and items:
        provider_id = items[0].get("id")
    return Message(role="assistant", parts=parts, usage=usage, provider_id=provider_id)


def usage_from(usage: Mapping[str, Any] | None) -> Usage:
    """Token counts from a response's ``usage`` (cached tokens included in input)."""
    if not usage:
        return Usage()
    details = usage.get("input_tokens_details") or {}
    return Usage(
        input_tokens=int(usage.get("input_tokens") or 0),
        output_tokens=int(usage.get("output_tokens") or 0),
        cached_input_tokens=int(details.get("cached_tokens") or 0),
    )


def finish_reasons(
    status: str | None, incomplete_reason: str | None, reply: Message
) -> tuple[str, ...]:
    """GenAI semantic-convention finish reasons for a response."""
    if status == "incomplete":
        if incomplete_reason == "max_output_tokens":
            return ("length",)
        return (incomplete_reason or "incomplete",)
    if status == "failed":
        return ("error",)
    return ("tool_call",) if reply.tool_calls else ("stop",)


def is_context_overflow(code: str | None, message: str) -> bool:
    """Whether an API error says the conversation no longer fits the context window."""
    if code == "context_length_exceeded":
        return True
    lowered = message.lower()
    return "context window" in lowered or "maximum context length" in lowered


# -- recovery ------------------------------------------------------------------------


def _item_text(item: Mapping[str, Any]) -> str:
    content = item.get("content")
    if isinstance(content, str):
        return content
    return "".join(
        c.get("text", "") for c in content or () if c.get("type") in ("input_text", "text")
    )


def _matches(item: Mapping[str, Any], expected: Mapping[str, Any]) -> bool:
    kind = expected.get("type", "message")
    if item.get("type") != kind:
        return False
    if kind == "function_call_output":
        return bool(item.get("call_id") == expected.get("call_id"))
    return item.get("role") == expected.get("role") and _item_text(item) == _item_text(expected)


def match_turn(
    newer: Sequence[Mapping[str, Any]], message: Message
) -> tuple[str | None, list[Mapping[str, Any]]] | None:
    """Whether ``newer`` (server items after the mirror's last one, oldest first) is
    exactly this turn: its input, then a finished reply.

    Returns ``(input item id, output items)`` if so, else None.
    """
    expected = message_items(message)
    k = len(expected)
    if len(newer) <= k:
        return None
    if not all(_matches(item, want) for item, want in zip(newer[:k], expected, strict=True)):
        return None
    output = list(newer[k:])
    if any(item.get("status") == "in_progress" for item in output):
        return None
    if any(item.get("type") == "message" and item.get("role") != "assistant" for item in output):
        return None
    return newer[0].get("id"), output
