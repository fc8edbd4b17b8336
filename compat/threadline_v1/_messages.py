"""Messages across the v1/threadline line, both ways, and the timestamps they carry.

Split from `threadline_v1.convert` (which converts whole sessions) because message
translation is the fiddly part: tool calls and their results must stay paired for
threadline (it refuses a history a provider would reject), while the v1 view must
come back exactly as v1 wrote it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

import threadline as tl

from .models import ConversationMessage, MessageRole

V1_KEY = "langswarm_v1"
"""Metadata key (session and message) holding what only v1 had."""

NO_RESULT = "no result was recorded for this tool call in LangSwarm v1"


class ConversionError(ValueError):
    """A v1 session that cannot become a threadline session (the message says why)."""


def to_utc(value: datetime, tz: tzinfo | None = None) -> datetime:
    """A v1 timestamp as aware UTC. v1 wrote naive local time (``datetime.now()``):
    naive values are read in ``tz``, by default this machine's local zone."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz) if tz is not None else value.astimezone()
    return value.astimezone(UTC)


def to_local(value: datetime) -> datetime:
    """An aware timestamp as the naive local time v1 code compares with ``now()``."""
    return value.astimezone().replace(tzinfo=None)


def parse_time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


# -- messages: v1 -> threadline -----------------------------------------------------


def _call_part(raw: object, index: int, message_id: str) -> tl.ToolCallPart:
    if not isinstance(raw, Mapping):
        raise ConversionError(f"message {message_id}: tool call {index} is not an object")
    function = raw.get("function")
    spec = function if isinstance(function, Mapping) else raw
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        raise ConversionError(f"message {message_id}: tool call {index} has no name")
    call_id = raw.get("id") or raw.get("call_id") or f"{message_id}_call_{index}"
    arguments = spec.get("arguments", spec.get("args", {}))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError:
            arguments = {"input": arguments}
    if not isinstance(arguments, dict):
        arguments = {"input": arguments}
    return tl.ToolCallPart(call_id=str(call_id), name=name, arguments=arguments)


def _openai_calls(calls: Iterable[tl.ToolCallPart]) -> list[dict[str, Any]]:
    """Tool calls the way v1 stored them (the OpenAI chat format)."""
    return [
        {
            "id": c.call_id,
            "type": "function",
            "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
        }
        for c in calls
    ]


def _metadata(message: ConversationMessage, extra: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(message.metadata, dict):
        raise ConversionError(f"message {message.id}: metadata is not an object")
    if V1_KEY in message.metadata:
        raise ConversionError(f"message {message.id}: metadata uses the reserved key {V1_KEY}")
    return {**message.metadata, V1_KEY: extra} if extra else dict(message.metadata)


def _same_v1(message: tl.Message, original: ConversationMessage) -> bool:
    back = to_v1_messages([message])
    return len(back) == 1 and back[0].to_dict() == original.to_dict()


def to_threadline_messages(
    v1_messages: Sequence[ConversationMessage],
    *,
    tz: tzinfo | None = None,
    reuse: Mapping[str, tl.Message] | None = None,
) -> tuple[str | None, list[dict[str, Any]], list[tl.Message], list[str]]:
    """The system prompt, what v1 knew of its messages, the threadline history, notes.

    Leading system messages become the system prompt. Tool and function results are
    paired with the assistant's calls; a call left unanswered before the next message
    gets an error result (marked synthetic, invisible in the v1 view), and a result
    with no call to answer becomes user text (threadline would refuse a lone result).
    ``reuse``: stored threadline messages by id; one that still converts to the same
    v1 message is kept as it is (with its usage and provider-only parts).
    """
    messages = list(v1_messages)
    lead: list[ConversationMessage] = []
    while messages and messages[0].role is MessageRole.SYSTEM:
        lead.append(messages.pop(0))
    system = "\n\n".join(m.content for m in lead) if lead else None
    system_info = [
        {
            "id": m.id,
            "timestamp": m.timestamp.isoformat(),
            "length": len(m.content),
            "metadata": m.metadata,
            "provider_message_id": m.provider_message_id,
        }
        for m in lead
    ]
    out: list[tl.Message] = []
    notes: list[str] = []
    pending: dict[str, str] = {}  # unanswered call id -> id of the message that made it
    for m in messages:
        created = to_utc(m.timestamp, tz)
        extra: dict[str, Any] = {}
        if m.role in (MessageRole.TOOL, MessageRole.FUNCTION):
            if m.role is MessageRole.FUNCTION:
                extra["role"] = "function"
            call_id = m.tool_call_id or next(iter(pending), None)
            if call_id is not None and call_id in pending:
                del pending[call_id]
                if m.tool_call_id != call_id:
                    extra["tool_call_id"] = m.tool_call_id
                converted = tl.Message(
                    id=m.id,
                    role="tool",
                    parts=[tl.ToolResult(call_id=call_id, output=m.content)],
                    created_at=created,
                    provider_id=m.provider_message_id,
                    metadata=_metadata(m, extra),
                )
            else:
                extra.update(orphan=True, role=m.role.value, tool_call_id=m.tool_call_id)
                notes.append(f"message {m.id}: a tool result with no call to answer, kept as text")
                converted = tl.Message(
                    id=m.id,
                    role="user",
                    parts=[tl.TextPart(text=m.content)],
                    created_at=created,
                    provider_id=m.provider_message_id,
                    metadata=_metadata(m, extra),
                )
        else:
            if pending:
                out.append(_no_result(pending, created))
                notes.append(f"calls {', '.join(pending)}: no result in v1, marked as an error")
                pending.clear()
            calls = []
            if m.role is MessageRole.ASSISTANT and m.tool_calls:
                calls = [_call_part(raw, i, m.id) for i, raw in enumerate(m.tool_calls)]
                if _openai_calls(calls) != m.tool_calls:
                    extra["tool_calls"] = m.tool_calls  # v1's own shape, given back as is
                pending = {c.call_id: m.id for c in calls}
            elif m.tool_calls is not None:
                extra["tool_calls"] = m.tool_calls
            if m.tool_call_id is not None:
                extra["tool_call_id"] = m.tool_call_id
            parts: list[tl.TextPart | tl.ToolCallPart] = []
            if m.content or not calls:
                parts.append(tl.TextPart(text=m.content))
            parts.extend(calls)
            converted = tl.Message(
                id=m.id,
                role=m.role.value,  # system, user or assistant
                parts=parts,
                created_at=created,
                provider_id=m.provider_message_id,
                metadata=_metadata(m, extra),
            )
        stored = (reuse or {}).get(m.id)
        out.append(stored if stored is not None and _same_v1(stored, m) else converted)
    return system, system_info, out, notes


def _no_result(pending: Mapping[str, str], created: datetime) -> tl.Message:
    first = next(iter(pending.values()))
    return tl.Message(
        id=f"{first}_no_result",
        role="tool",
        parts=[tl.ToolResult(call_id=c, output=NO_RESULT, is_error=True) for c in pending],
        created_at=created,
        metadata={V1_KEY: {"synthetic": True}},
    )


# -- messages: threadline -> v1 -----------------------------------------------------


def _extra(message: tl.Message) -> tuple[dict[str, Any], dict[str, Any]]:
    metadata = dict(message.metadata)
    extra = metadata.pop(V1_KEY, None)
    return metadata, extra if isinstance(extra, dict) else {}


def to_v1_messages(messages: Iterable[tl.Message]) -> list[ConversationMessage]:
    """The v1 view of threadline messages (synthetic results are left out)."""
    out: list[ConversationMessage] = []
    for message in messages:
        metadata, extra = _extra(message)
        if extra.get("synthetic"):
            continue
        timestamp = to_local(message.created_at)
        results = [p for p in message.parts if isinstance(p, tl.ToolResult)]
        if message.role == "tool" and results:
            for i, result in enumerate(results):
                out.append(
                    ConversationMessage(
                        id=message.id if i == 0 else f"{message.id}_{i}",
                        role=MessageRole(extra.get("role", "tool")),
                        content=result.output_text(),
                        timestamp=timestamp,
                        metadata=dict(metadata),
                        tool_call_id=extra.get("tool_call_id", result.call_id),
                        provider_message_id=message.provider_id,
                    )
                )
            continue
        calls = message.tool_calls
        default_calls = _openai_calls(calls) if calls else None
        out.append(
            ConversationMessage(
                id=message.id,
                role=MessageRole(extra["role"] if extra.get("orphan") else message.role),
                content=message.text,
                timestamp=timestamp,
                metadata=metadata,
                tool_calls=extra.get("tool_calls", default_calls),
                tool_call_id=extra.get("tool_call_id"),
                provider_message_id=message.provider_id,
            )
        )
    return out


def system_messages(
    system: str | None, info: object, session_id: str, created: datetime
) -> list[ConversationMessage]:
    """The leading v1 system messages behind a threadline system prompt."""
    if system is None:
        return []
    entries = info if isinstance(info, list) else []
    lengths = [e.get("length") for e in entries if isinstance(e, dict)]
    if (
        entries
        and len(lengths) == len(entries)
        and all(isinstance(n, int) for n in lengths)
        and sum(lengths) + 2 * (len(lengths) - 1) == len(system)  # type: ignore[arg-type]
    ):
        out, start = [], 0
        for entry, length in zip(entries, lengths, strict=True):
            assert isinstance(length, int)
            out.append(
                ConversationMessage(
                    id=entry.get("id") or f"{session_id}_system",
                    role=MessageRole.SYSTEM,
                    content=system[start : start + length],
                    timestamp=parse_time(entry.get("timestamp")) or created,
                    metadata=entry.get("metadata") or {},
                    provider_message_id=entry.get("provider_message_id"),
                )
            )
            start += length + 2
        return out
    return [ConversationMessage(f"{session_id}_system", MessageRole.SYSTEM, system, created)]
