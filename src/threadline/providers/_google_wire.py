"""Pure translation between threadline messages and Interactions API steps (native mode).

No I/O and no SDK import: both directions work on the plain dicts the SDK takes and
returns (``interaction.model_dump(mode="json")``), so every rule is unit-tested on
literals. generateContent (local mode) has its own module, `_google_content_wire`,
which shares the small helpers at the top of this one.

- user message → a ``user_input`` step (``text`` / ``image`` / ``audio`` / ``video`` /
  ``document`` content blocks, by media type; bytes and ``data:`` URLs inline, other
  URLs and file ids as ``uri``); a new turn that is one text part is sent as a plain
  string, the smallest form.
- tool message → one ``function_result`` step per `ToolResult` (text or object
  results as they are, anything else as JSON text; the tool ``name`` when known).
- assistant message ↔ the output steps of one interaction, in order: ``model_output``
  text → `TextPart` (images → `ImagePart`), ``function_call`` → `ToolCallPart`, any
  other step (``thought`` with its signature, server-side tool calls and results) →
  ``ProviderPart("google", "step", <the step>)``, re-sent only to the Interactions
  API, in place, when a chain is seeded from the mirror.

Usage (both APIs): ``input_tokens`` counts the prompt including cached and tool-use
prompt tokens, ``output_tokens`` the reply including thinking tokens (billed as
output), ``cached_input_tokens`` the cached part of the input.
"""

from __future__ import annotations

import base64
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
    "arguments",
    "b64",
    "count",
    "history_steps",
    "interaction_finish",
    "interaction_tools",
    "interaction_usage",
    "message_steps",
    "reply_from_steps",
    "split_data_url",
    "turn_input",
]

PROVIDER = "google"
Item = dict[str, Any]


# -- shared with _google_content_wire ----------------------------------------------


def split_data_url(url: str) -> tuple[str | None, str] | None:
    """``(media type, base64 data)`` of a ``data:`` URL, else None."""
    if not url.startswith("data:") or ";base64," not in url:
        return None
    head, data = url[5:].split(";base64,", 1)
    return head or None, data


def b64(data: bytes) -> str:
    """Bytes as base64 text, the form both APIs take inline data in."""
    return base64.b64encode(data).decode("ascii")


def _call_names(messages: Iterable[Message], wanted: set[str]) -> dict[str, str]:
    """Tool names by call id, for ``wanted`` ids, searching ``messages`` in the order given."""
    names: dict[str, str] = {}
    for message in messages:
        for part in message.parts:
            if isinstance(part, ToolCallPart) and part.call_id in wanted:
                names.setdefault(part.call_id, part.name)
        if len(names) == len(wanted):
            break
    return names


def _result_ids(message: Message) -> set[str]:
    return {p.call_id for p in message.parts if isinstance(p, ToolResult)}


def count(mapping: Mapping[str, Any], key: str) -> int:
    """A token count from a usage mapping (0 when absent or not an int)."""
    value = mapping.get(key)
    return value if isinstance(value, int) else 0


def arguments(raw: object) -> dict[str, Any]:
    """Tool-call arguments as a dict: parsed from JSON text if need be, an unparseable
    or non-object value kept as ``{"input": <value>}``."""
    if isinstance(raw, dict):
        return raw
    try:
        parsed = json.loads(raw) if isinstance(raw, str) and raw.strip() else {}
    except json.JSONDecodeError:
        return {"input": raw}
    return parsed if isinstance(parsed, dict) else {"input": parsed}


# -- Interactions: threadline -> wire ----------------------------------------------


def _block(part: Part) -> Item | None:
    """One content block of a ``user_input`` or ``model_output`` step."""
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if not isinstance(part, ImagePart | FilePart):
        return None  # tool parts and provider parts have no place in content
    media = part.media_type
    kind = "image" if isinstance(part, ImagePart) else "document"
    if media and media.split("/")[0] in ("image", "audio", "video"):
        kind = media.split("/")[0]
    block: Item = {"type": kind}
    inline = split_data_url(part.url) if part.url else None
    if part.data is not None:
        block["data"] = b64(part.data)
    elif inline is not None:
        media = media or inline[0]
        block["data"] = inline[1]
    elif isinstance(part, FilePart) and part.file_id is not None:
        block["uri"] = part.file_id
    else:
        block["uri"] = part.url
    if media:
        block["mime_type"] = media
    return block


def _function_result(result: ToolResult, name: str | None) -> Item:
    output = result.output
    step: Item = {
        "type": "function_result",
        "call_id": result.call_id,
        "result": output if isinstance(output, str | dict) else json.dumps(output),
    }
    if name is not None:
        step["name"] = name
    if result.is_error:
        step["is_error"] = True
    return step


def _assistant_steps(message: Message) -> list[Item]:
    steps: list[Item] = []
    content: list[Item] = []

    def flush() -> None:
        if content:
            steps.append({"type": "model_output", "content": list(content)})
            content.clear()

    for part in message.parts:
        if isinstance(part, ToolCallPart):
            flush()
            steps.append(
                {
                    "type": "function_call",
                    "id": part.call_id,
                    "name": part.name,
                    "arguments": part.arguments,
                }
            )
        elif isinstance(part, ProviderPart):
            if part.provider == PROVIDER and part.kind == "step":
                flush()
                steps.append(dict(part.data))
        elif (block := _block(part)) is not None:
            content.append(block)
    flush()
    return steps


def message_steps(message: Message, names: Mapping[str, str] | None = None) -> list[Item]:
    """The input steps for one mirrored message (``names``: tool names by call id)."""
    if message.role == "assistant":
        return _assistant_steps(message)
    if message.role == "tool":
        names = names or {}
        return [
            _function_result(p, names.get(p.call_id))
            for p in message.parts
            if isinstance(p, ToolResult)
        ]
    blocks = [b for b in map(_block, message.parts) if b is not None]
    return [{"type": "user_input", "content": blocks}] if blocks else []


def history_steps(messages: Sequence[Message]) -> list[Item]:
    """Mirrored messages as input steps, oldest first (to seed a new chain)."""
    names = {p.call_id: p.name for m in messages for p in m.parts if isinstance(p, ToolCallPart)}
    return [step for message in messages for step in message_steps(message, names)]


def turn_input(message: Message, history: Sequence[Message]) -> str | list[Item]:
    """This turn's new input in its smallest form: a lone text part as a plain string.

    Tool results name their tool, found by searching the history from its end (the
    calls are normally in the last message, so this stays cheap however long it is).
    """
    parts = message.parts
    if message.role == "user" and len(parts) == 1 and isinstance(parts[0], TextPart):
        return parts[0].text
    names = _call_names(reversed(history), _result_ids(message)) if message.role == "tool" else {}
    return message_steps(message, names)


def interaction_tools(tools: Sequence[Tool]) -> list[Item]:
    """Function tools for ``interactions.create`` (any JSON schema)."""
    return [
        {
            "type": "function",
            "name": t.name,
            "description": t.description,
            "parameters": t.parameters,
        }
        for t in tools
    ]


# -- Interactions: wire -> threadline ----------------------------------------------


def _content_part(block: Mapping[str, Any]) -> Part | None:
    kind = block.get("type")
    if kind == "text":
        return TextPart(text=str(block.get("text", "")))
    if kind == "image" and (block.get("data") or block.get("uri")):
        data = block.get("data")
        return ImagePart(
            data=base64.b64decode(data) if data else None,
            url=None if data else block.get("uri"),
            media_type=block.get("mime_type"),
        )
    return None


def reply_from_steps(
    steps: Sequence[Mapping[str, Any]], *, usage: Usage | None = None, provider_id: str | None
) -> Message:
    """One assistant message from an interaction's output steps, in order.

    ``user_input`` and ``function_result`` steps (the input echoed back) are skipped.
    """
    parts: list[Part] = []
    for step in steps:
        kind = step.get("type")
        if kind == "model_output":
            for block in step.get("content") or ():
                part = _content_part(block)
                if part is not None:
                    parts.append(part)
                else:
                    parts.append(
                        ProviderPart(
                            provider=PROVIDER,
                            kind="step",
                            data={"type": "model_output", "content": [block]},
                        )
                    )
        elif kind == "function_call":
            parts.append(
                ToolCallPart(
                    call_id=str(step["id"]),
                    name=str(step["name"]),
                    arguments=arguments(step.get("arguments")),
                )
            )
        elif kind not in ("user_input", "function_result"):
            parts.append(ProviderPart(provider=PROVIDER, kind="step", data=dict(step)))
    return Message(role="assistant", parts=parts, usage=usage, provider_id=provider_id)


def interaction_usage(usage: Mapping[str, Any] | None) -> Usage:
    """Token counts from an interaction's ``usage``."""
    if not usage:
        return Usage()
    return Usage(
        input_tokens=count(usage, "total_input_tokens") + count(usage, "total_tool_use_tokens"),
        output_tokens=count(usage, "total_output_tokens") + count(usage, "total_thought_tokens"),
        cached_input_tokens=count(usage, "total_cached_tokens"),
    )


def interaction_finish(status: str | None, reply: Message) -> tuple[str, ...]:
    """GenAI semantic-convention finish reasons for a finished interaction."""
    if reply.tool_calls or status == "requires_action":
        return ("tool_call",)
    return ("stop",)
