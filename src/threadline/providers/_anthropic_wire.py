"""Pure translation between threadline messages and the Anthropic Messages API.

No I/O and no SDK import: requests are built, and replies read, as the plain JSON the
API takes and sends, so every rule here is unit-tested on literals. Both faces (the
async engine and its generated sync twin) share this module.

Mapping (threadline → wire, and back):

- user message → ``{"role": "user"}`` with ``text`` / ``image`` / ``document`` blocks
  (a lone text part goes as a plain string, the smallest form).
- tool message → a ``user`` message of ``tool_result`` blocks (``tool_use_id`` = the
  call id; output as text; ``is_error`` when set).
- assistant message ↔ one reply's content blocks, in order: ``text`` ↔ `TextPart`,
  ``tool_use`` ↔ `ToolCallPart`, anything else (``thinking``, ``redacted_thinking``,
  server tool blocks…) ↔ ``ProviderPart("anthropic", <type>, <block>)``, sent back
  as it came and only to Anthropic. Other providers' parts are dropped.
- The API wants user and assistant turns to alternate: consecutive messages of one
  role (a tool-results message then a user message; an assistant message left empty
  after dropping another provider's parts) are merged into one, and empty ones skipped.
- Call ids from other providers are made valid ``tool_use`` ids (``[A-Za-z0-9_-]``),
  the same way on both sides of a pair.
"""

from __future__ import annotations

import base64
import json
import re
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
    "THREADS_BETA",
    "default_max_tokens",
    "finish_reasons",
    "is_context_overflow",
    "message_params",
    "reply_from_message",
    "tool_call",
    "tool_params",
    "usage_from",
]

PROVIDER = "anthropic"
THREADS_BETA = "message-threads-2026-08-12"
Block = dict[str, Any]

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_IMAGE_MAGIC = (
    (b"\x89PNG", "image/png"),
    (b"\xff\xd8", "image/jpeg"),
    (b"GIF8", "image/gif"),
)


# -- threadline -> wire ------------------------------------------------------------


def tool_use_id(call_id: str) -> str:
    """A call id as a valid ``tool_use`` id (other providers' ids may hold ``.`` or ``:``)."""
    return _ID_UNSAFE.sub("_", call_id) or "call"


def _media_type(part: ImagePart | FilePart) -> str:
    if part.media_type:
        return part.media_type
    data = part.data or b""
    for magic, media_type in _IMAGE_MAGIC:
        if data.startswith(magic):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/pdf" if isinstance(part, FilePart) else "image/png"


def _source(part: ImagePart | FilePart) -> Block:
    url = part.url
    if url is not None and url.startswith("data:") and ";base64," in url:
        head, _, data = url.partition(";base64,")
        return {"type": "base64", "media_type": head[len("data:") :], "data": data}
    if url is not None:
        return {"type": "url", "url": url}
    raw = part.data or b""
    media_type = _media_type(part)
    if media_type.startswith("text/"):
        return {"type": "text", "media_type": "text/plain", "data": raw.decode()}
    return {"type": "base64", "media_type": media_type, "data": base64.b64encode(raw).decode()}


def _user_block(part: Part) -> Block | None:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text} if part.text else None
    if isinstance(part, ImagePart):
        return {"type": "image", "source": _source(part)}
    if isinstance(part, FilePart):
        source = (
            {"type": "file", "file_id": part.file_id} if part.file_id is not None else _source(part)
        )
        block: Block = {"type": "document", "source": source}
        if part.filename is not None:
            block["title"] = part.filename
        return block
    return None  # tool calls and other providers' parts have no place in a user turn


def _assistant_block(part: Part) -> Block | None:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text} if part.text else None
    if isinstance(part, ToolCallPart):
        return {
            "type": "tool_use",
            "id": tool_use_id(part.call_id),
            "name": part.name,
            "input": part.arguments,
        }
    if isinstance(part, ProviderPart) and part.provider == PROVIDER:
        return dict(part.data)
    return None


def _result_block(result: ToolResult) -> Block:
    block: Block = {
        "type": "tool_result",
        "tool_use_id": tool_use_id(result.call_id),
        "content": result.output_text(),
    }
    if result.is_error:
        block["is_error"] = True
    return block


def content_blocks(message: Message) -> tuple[str, list[Block]]:
    """The wire role and content blocks of one mirrored message (blocks may be empty)."""
    if message.role == "assistant":
        blocks = [b for b in map(_assistant_block, message.parts) if b is not None]
        return "assistant", blocks
    if message.role == "tool":
        return "user", [_result_block(p) for p in message.parts if isinstance(p, ToolResult)]
    if message.role == "system":
        return "user", []  # the system prompt travels in ``system``, never as a turn
    return "user", [b for b in map(_user_block, message.parts) if b is not None]


def message_params(messages: Iterable[Message]) -> list[Block]:
    """Mirrored messages as the API's ``messages``: roles alternating, oldest first."""
    params: list[Block] = []
    for message in messages:
        role, blocks = content_blocks(message)
        if not blocks:
            continue
        if params and params[-1]["role"] == role:
            params[-1]["content"].extend(blocks)
        else:
            params.append({"role": role, "content": blocks})
    for param in params:
        content = param["content"]
        if len(content) == 1 and content[0]["type"] == "text":
            param["content"] = content[0]["text"]
    return params


def tool_params(tools: Sequence[Tool]) -> list[Block]:
    """Client tools: name, description and the JSON schema as ``input_schema``."""
    params = []
    for tool in tools:
        param: Block = {"name": tool.name, "input_schema": tool.parameters}
        if tool.description:
            param["description"] = tool.description
        params.append(param)
    return params


def default_max_tokens(model: str) -> int:
    """``max_tokens`` when neither the turn, the session nor the provider sets one.

    Within every current model's output limit, and at most 21,333: the SDK refuses a
    non-streaming request whose ``max_tokens`` could run past its 10-minute timeout.
    """
    if model.startswith("claude-3"):
        return 4_096
    if "haiku" in model:
        return 8_192
    return 16_384


# -- wire -> threadline ------------------------------------------------------------


def _arguments(raw: object) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    return {} if raw is None else {"input": raw}


def tool_call(block: Mapping[str, Any]) -> ToolCallPart:
    """A ``tool_use`` block as a `ToolCallPart`."""
    return ToolCallPart(
        call_id=str(block["id"]), name=str(block["name"]), arguments=_arguments(block.get("input"))
    )


def _without_none(block: Mapping[str, Any]) -> Block:
    return {k: v for k, v in block.items() if v is not None}


def reply_from_message(message: Mapping[str, Any], usage: Usage | None = None) -> Message:
    """One assistant message from a reply (``Message`` JSON), its blocks in order.

    ``provider_id`` is the reply's ``msg_…`` id: the id a thread continues from.
    """
    parts: list[Part] = []
    for block in message["content"]:
        kind = block["type"]
        if kind == "text":
            parts.append(TextPart(text=block["text"]))
        elif kind == "tool_use":
            parts.append(tool_call(block))
        else:
            parts.append(ProviderPart(provider=PROVIDER, kind=str(kind), data=_without_none(block)))
    return Message(
        role="assistant",
        parts=parts,
        usage=usage,
        provider_id=str(message["id"]),
    )


def usage_from(usage: Mapping[str, Any] | None) -> Usage:
    """Token counts: input is ``input + cache read + cache write``; cached is the read."""
    if not usage:
        return Usage()
    read = int(usage.get("cache_read_input_tokens") or 0)
    written = int(usage.get("cache_creation_input_tokens") or 0)
    return Usage(
        input_tokens=int(usage.get("input_tokens") or 0) + read + written,
        output_tokens=int(usage.get("output_tokens") or 0),
        cached_input_tokens=read,
        cache_write_tokens=written,
    )


_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_call",
    "refusal": "content_filter",
}


def finish_reasons(stop_reason: str | None) -> tuple[str, ...]:
    """GenAI semantic-convention finish reasons for a ``stop_reason``."""
    if stop_reason is None:
        return ()
    return (_FINISH.get(stop_reason, stop_reason),)


def is_context_overflow(status: int | None, message: str) -> bool:
    """Whether an API error says the conversation no longer fits the context window."""
    if status == 413:
        return True
    lowered = message.lower()
    return (
        "prompt is too long" in lowered
        or "context window" in lowered
        or "context length" in lowered
        or "model_context_window_exceeded" in lowered
    )


class ReplyBuilder:
    """Assembles one streamed reply from its events (as JSON dicts) into the API's
    non-streamed ``Message`` shape, and says what to show the caller as it goes.

    A stream of the wrong shape raises ``ValueError`` (or ``KeyError``/``TypeError``
    from a missing or mistyped field): the engine reports it as an unreadable reply.
    """

    def __init__(self) -> None:
        self.complete = False
        """``message_stop`` arrived: the reply is whole."""
        self._message: Block | None = None
        self._blocks: dict[int, Block] = {}
        self._json: dict[int, list[str]] = {}

    def text(self, index: int, text: str) -> str:
        """A ``text_delta`` (a hot path: the engine builds no dict for it)."""
        self._blocks[index]["text"] += text
        return text

    def partial_json(self, index: int, piece: str) -> None:
        """An ``input_json_delta`` (a hot path, like `text`)."""
        self._json[index].append(piece)

    def stop(self, index: int) -> ToolCallPart | None:
        """A ``content_block_stop``: the finished tool call, if the block was one."""
        return self._finish_block(index)

    def feed(self, event: Mapping[str, Any]) -> str | ToolCallPart | None:
        """Take one event; returns text to stream, a finished tool call, or None."""
        kind = event["type"]
        if kind == "message_start":
            self._message = dict(event["message"])
        elif kind == "content_block_start":
            block = dict(event["content_block"])
            self._blocks[int(event["index"])] = block
            if block["type"] == "tool_use":
                self._json[int(event["index"])] = []
        elif kind == "content_block_delta":
            return self._delta(int(event["index"]), event["delta"])
        elif kind == "content_block_stop":
            return self.stop(int(event["index"]))
        elif kind == "message_delta":
            message = self._started()
            message.update(_without_none(event["delta"]))
            usage = dict(message.get("usage") or {})
            usage.update(_without_none(event.get("usage") or {}))
            message["usage"] = usage
        elif kind == "message_stop":
            self._started()
            self.complete = True
        return None

    def result(self) -> Block:
        """The reply as one ``Message`` dict, its blocks in index order."""
        message = self._started()
        for index in list(self._json):
            self._finish_block(index)
        return {**message, "content": [self._blocks[i] for i in sorted(self._blocks)]}

    def _started(self) -> Block:
        if self._message is None:
            raise ValueError("the stream did not start with message_start")
        return self._message

    def _delta(self, index: int, delta: Mapping[str, Any]) -> str | None:
        block = self._blocks[index]
        kind = delta["type"]
        if kind == "text_delta":
            return self.text(index, delta["text"])
        if kind == "input_json_delta":
            self.partial_json(index, delta["partial_json"])
        elif kind == "thinking_delta":
            block["thinking"] = block.get("thinking", "") + delta["thinking"]
        elif kind == "signature_delta":
            block["signature"] = delta["signature"]
        elif kind == "citations_delta":
            block.setdefault("citations", []).append(delta["citation"])
        elif kind == "compaction_delta":
            block["content"] = (block.get("content") or "") + (delta.get("content") or "")
        return None

    def _finish_block(self, index: int) -> ToolCallPart | None:
        pieces = self._json.pop(index, None)
        if pieces is None:
            return None
        block = self._blocks[index]
        raw = "".join(pieces)
        block["input"] = json.loads(raw) if raw.strip() else {}
        return tool_call(block)
