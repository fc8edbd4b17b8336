"""Notebook rendering: sessions and messages as a readable chat (``_repr_html_``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

from .messages import Message, TextPart, ToolCallPart, ToolResult

if TYPE_CHECKING:
    from ._records import SessionRecord

_ROLE_STYLE = {
    "user": "background:#e8f0fe;margin-left:15%",
    "assistant": "background:#f1f3f4;margin-right:15%",
    "tool": "background:#fef7e0;margin-right:15%;font-family:monospace",
    "system": "background:#fce8e6",
}


def _part_html(part: object) -> str:
    if isinstance(part, TextPart):
        return escape(part.text).replace("\n", "<br>")
    if isinstance(part, ToolCallPart):
        args = escape(json.dumps(part.arguments))
        return f"<code>&#128295; {escape(part.name)}({args})</code>"
    if isinstance(part, ToolResult):
        return f"<code>&#8617; {escape(part.output_text()[:2000])}</code>"
    return f"<i>[{escape(getattr(part, 'type', 'part'))}]</i>"


def messages_html(messages: Sequence[Message]) -> str:
    rows = []
    for m in messages:
        body = " ".join(_part_html(p) for p in m.parts)
        style = _ROLE_STYLE.get(m.role, "")
        rows.append(
            f'<div style="{style};padding:6px 10px;border-radius:8px;margin:4px 0">'
            f'<b style="font-size:0.8em;color:#5f6368">{escape(m.role)}</b><br>{body}</div>'
        )
    return "<div>" + "".join(rows) + "</div>"


def session_html(record: SessionRecord, messages: Sequence[Message] | None) -> str:
    """The session's header and chat (just the header when its history is not loaded)."""
    head = (
        f"<b>{escape(record.id)}</b> &middot; {escape(record.provider)}/{escape(record.model)}"
        f" &middot; {escape(record.status.value)} &middot; {record.message_count} messages"
    )
    system = ""
    if record.system:
        system = f'<div style="color:#5f6368"><i>system:</i> {escape(record.system)}</div>'
    chat = messages_html(messages) if messages is not None else ""
    return f'<div style="font-family:sans-serif">{head}{system}{chat}</div>'


class MessageList(list[Message]):
    """A plain list of messages that renders as a chat in notebooks."""

    def _repr_html_(self) -> str:
        return messages_html(self)
