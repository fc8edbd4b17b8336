"""How the ``threadline`` CLI draws sessions: tables, headers and conversations.

Model and user text is always wrapped in `rich.text.Text`, never parsed as rich
markup: a message holding ``[red]`` must print as typed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from . import ConversationSession, Message, SessionInfo
from .messages import FilePart, ImagePart, ProviderPart, TextPart, ToolCallPart, ToolResult

ROLE_STYLES = {
    "user": "bold cyan",
    "assistant": "bold green",
    "tool": "bold yellow",
    "system": "bold magenta",
}


def when(value: datetime | None) -> str:
    """A timestamp in local time, to the minute."""
    return "-" if value is None else value.astimezone().strftime("%Y-%m-%d %H:%M")


def session_table(infos: Sequence[SessionInfo], *, show_user: bool) -> Table:
    """The ``threadline ls`` table."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    # Ids are copied into other commands: never wrap or shorten them.
    table.add_column("id", no_wrap=True, min_width=max(len(i.id) for i in infos))
    if show_user:
        table.add_column("user", overflow="fold")
    table.add_column("provider/model", overflow="fold")
    table.add_column("status", no_wrap=True)
    table.add_column("messages", justify="right", no_wrap=True)
    table.add_column("updated", no_wrap=True)
    for info in infos:
        row = [info.id]
        if show_user:
            row.append(info.user or "-")
        row += [
            f"{info.provider}/{info.model}",
            info.status.value,
            str(info.message_count),
            when(info.updated_at),
        ]
        table.add_row(*(Text(cell) for cell in row))
    return table


def session_header(session: ConversationSession) -> RenderableType:
    """What ``threadline show`` prints above the conversation."""
    status = session.status.value
    if session.status_reason:
        status += f" ({session.status_reason})"
    usage = session.usage
    lines = [
        Text.assemble((session.id, "bold"), f"  {session.provider}/{session.model}"),
        Text(
            f"status {status} · mode {session.mode} · user {session.user or '-'}"
            f" · {len(session.messages)} messages"
        ),
        Text(
            f"created {when(session.created_at)} · updated {when(session.updated_at)}"
            f" · expires {when(session.expires_at)}"
        ),
        Text(
            f"tokens {usage.input_tokens} in ({usage.cached_input_tokens} cached)"
            f" / {usage.output_tokens} out"
        ),
    ]
    if session.parent_id:
        lines.append(Text(f"forked from {session.parent_id}"))
    if session.checkpoints:
        marks = ", ".join(
            f"{cp.label or cp.id} (at {cp.message_count})" for cp in session.checkpoints
        )
        lines.append(Text(f"checkpoints {marks}"))
    if session.system:
        lines.append(Text.assemble(("system: ", ROLE_STYLES["system"]), session.system))
    return Group(*lines)


def part_text(part: object) -> Text:
    """One message part as a line of text."""
    if isinstance(part, TextPart):
        return Text(part.text)
    if isinstance(part, ToolCallPart):
        return Text(f"-> {part.name}({json.dumps(part.arguments)})  [{part.call_id}]", "yellow")
    if isinstance(part, ToolResult):
        mark = "error" if part.is_error else "result"
        return Text(f"<- {mark} for {part.call_id}: {part.output_text()}", "yellow")
    if isinstance(part, ImagePart):
        where = part.url if part.url and not part.url.startswith("data:") else part.media_type
        return Text(f"[image: {where or 'inline'}]", "dim")
    if isinstance(part, FilePart):
        return Text(
            f"[file: {part.filename or part.file_id or part.media_type or 'inline'}]", "dim"
        )
    if isinstance(part, ProviderPart):
        return Text(f"[{part.provider} {part.kind}]", "dim")
    return Text(f"[{getattr(part, 'type', 'part')}]", "dim")


def conversation(messages: Sequence[Message]) -> RenderableType:
    """Messages as role headings, each followed by its indented content."""
    blocks: list[RenderableType] = []
    for message in messages:
        blocks.append(Text(message.role, ROLE_STYLES.get(message.role, "bold")))
        body = [part_text(p) for p in message.parts] or [Text("(empty)", "dim")]
        blocks.append(Padding(Group(*body), (0, 0, 0, 2), expand=False))
        blocks.append(Text(""))
    return Group(*blocks)


def print_session(console: Console, session: ConversationSession) -> None:
    console.print(session_header(session))
    console.print()
    if session.messages:
        console.print(conversation(session.messages))
    else:
        console.print(Text("(no messages yet)", "dim"))
