"""What the ``threadline`` CLI prints: its consoles, error lines, ``--help`` (without
typer's type labels), session listings, headers, conversations and progress.

Model and user text is always wrapped in `rich.text.Text`, never parsed as rich
markup: a message holding ``[red]`` must print as typed. On a terminal long lines are
wrapped to its width; piped, every line is printed whole, for ``grep`` and ``awk``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer.core import TyperArgument, TyperGroup, TyperOption

from . import ConversationSession, Message, SessionInfo
from .messages import FilePart, ImagePart, ProviderPart, TextPart, ToolCallPart, ToolResult

stdout = Console(highlight=False, markup=False, emoji=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, markup=False, emoji=False, soft_wrap=True)

INDENT = "  "


class CLIError(Exception):
    """A user mistake the CLI itself detects (not raised by the library)."""


def fail(message: str) -> NoReturn:
    raise CLIError(message)


def print_error(message: str) -> None:
    stderr.print(Text(f"error: {message}", "red"))


def print_json(data: Any) -> None:
    """``data`` as indented JSON on stdout (non-ASCII text kept as it is)."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


# -- help ---------------------------------------------------------------------------


class QuietHelp(TyperGroup):
    """``--help`` without typer's ``<bool>``/``<str>`` after every option: flags show
    nothing, a value option shows what it takes (``URL``, ``ID``; its name by default)."""

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        quiet_types(params)
        return params

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            quiet_types([*command.params, command.get_help_option(ctx)])
        return command


class NamedArgument(TyperArgument):
    """An argument shown by its name alone (typer adds ``<str>``)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None


def quiet_types(params: list[Any]) -> None:
    for param in params:
        if isinstance(param, TyperOption) and param.metavar is None:
            param.metavar = "" if param.is_flag else (param.name or "value").upper()
        elif isinstance(param, TyperArgument):
            param.__class__ = NamedArgument
            param.metavar = param.metavar or (param.name or "value").upper()


# -- sessions -----------------------------------------------------------------------

ROLE_STYLES = {
    "user": "bold cyan",
    "assistant": "bold green",
    "tool": "bold yellow",
    "system": "bold magenta",
}


def when(value: datetime | None) -> str:
    """A timestamp in local time, to the minute."""
    return "-" if value is None else value.astimezone().strftime("%Y-%m-%d %H:%M")


# The ``ls`` columns that never wrap, and the ones that fold (with their narrowest width).
FIXED = ("id", "status", "messages", "updated")
FOLDING = {"user": 6, "provider/model": 9}
SHORT = {"messages": "msgs"}  # headers shortened before anything has to fold
GAP = 2  # between two columns
SEP = " · "


def pack(fields: Sequence[str], room: int) -> list[str]:
    """``fields`` joined by `SEP` on lines of at most ``room`` characters, broken only
    between fields (a field longer than a line is folded)."""
    room = max(room, 1)
    lines: list[str] = []
    for field in fields:
        if lines and len(lines[-1]) + len(SEP) + len(field) <= room:
            lines[-1] += SEP + field
        else:
            lines.extend(field[i : i + room] for i in range(0, len(field), room))
    return lines


def session_cells(info: SessionInfo) -> dict[str, str]:
    return {
        "id": info.id,
        "user": info.user or "-",
        "provider/model": f"{info.provider}/{info.model}",
        "status": info.status.value,
        "messages": str(info.message_count),
        "updated": when(info.updated_at),
    }


def print_sessions(console: Console, infos: Sequence[SessionInfo], *, show_user: bool) -> None:
    """The ``threadline ls`` listing.

    Piped: a table with one session per line, however wide. On a terminal: a table
    whose user and provider/model columns fold to fit; ids, statuses, counts and times
    never wrap. When even that does not fit, one record per session instead.
    """
    names = ["id", *(["user"] if show_user else []), "provider/model", *FIXED[1:]]
    rows = [session_cells(info) for info in infos]
    if not console.is_terminal:
        wide = Console(width=10_000, highlight=False, markup=False, emoji=False)
        wide.print(session_table(names, rows, {}, {}))
        return
    folding = [name for name in names if name in FOLDING]
    for headers in ({}, SHORT):
        width = {n: max(len(headers.get(n, n)), *(len(r[n]) for r in rows)) for n in names}
        room = console.width - sum(width[n] for n in FIXED) - GAP * (len(names) - 1)
        if sum(width[name] for name in folding) <= room:
            break  # fits without folding anything
    if room < sum(FOLDING[name] for name in folding):
        for row in rows:
            console.print(Text(row["id"], "bold"), soft_wrap=True)
            for line in pack(record_fields(row, show_user=show_user), console.width - 2):
                console.print(Text(INDENT + line), soft_wrap=True)
        return
    while sum(width[name] for name in folding) > room:
        width[max(folding, key=lambda name: width[name])] -= 1
    console.print(session_table(names, rows, width, headers))


def session_table(
    names: list[str], rows: list[dict[str, str]], width: dict[str, int], headers: dict[str, str]
) -> Table:
    """The table; ``width``: the folding columns' widths (none: as wide as they need)."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in names:
        header = headers.get(name, name)
        if name in FOLDING:
            if name == "provider/model" and width.get(name, len(name)) < len(name):
                header = "provider/\nmodel"
            table.add_column(header, width=width.get(name), overflow="fold")
        else:
            justify: Any = "right" if name == "messages" else "left"
            table.add_column(header, no_wrap=True, justify=justify)
    for row in rows:
        table.add_row(*(Text(row[name]) for name in names))
    return table


def record_fields(row: dict[str, str], *, show_user: bool) -> list[str]:
    """A session's fields in a narrow terminal, under its id."""
    count = row["messages"]
    fields = [
        row["provider/model"],
        row["status"],
        f"{count} message{'' if count == '1' else 's'}",
        f"updated {row['updated']}",
    ]
    return [*fields, f"user {row['user']}"] if show_user else fields


def print_header(console: Console, session: ConversationSession) -> None:
    """What ``threadline show`` prints above the conversation. On a terminal, lines
    break between fields, never inside a time; piped, each line is printed whole."""
    status = session.status.value
    if session.status_reason:
        status += f" ({session.status_reason})"
    usage = session.usage
    model = f"{session.provider}/{session.model}"
    if console.is_terminal and len(session.id) + 2 + len(model) > console.width:
        console.print(Text(session.id, "bold"), soft_wrap=True)
        console.print(Text(model, overflow="fold"), soft_wrap=False)
    else:
        console.print(Text.assemble((session.id, "bold"), f"  {model}"), soft_wrap=True)
    rows = [
        [
            f"status {status}",
            f"mode {session.mode}",
            f"user {session.user or '-'}",
            f"{len(session.messages)} messages",
        ],
        [
            f"created {when(session.created_at)}",
            f"updated {when(session.updated_at)}",
            f"expires {when(session.expires_at)}",
        ],
        [
            f"tokens {usage.input_tokens} in ({usage.cached_input_tokens} cached)"
            f" / {usage.output_tokens} out"
        ],
    ]
    if session.parent_id:
        rows.append([f"forked from {session.parent_id}"])
    if session.checkpoints:
        marks = ", ".join(
            f"{cp.label or cp.id} (at {cp.message_count})" for cp in session.checkpoints
        )
        rows.append([f"checkpoints {marks}"])
    for fields in rows:
        lines = pack(fields, console.width) if console.is_terminal else [SEP.join(fields)]
        for line in lines:
            console.print(Text(line), soft_wrap=True)
    if session.system:
        system = Text.assemble(("system: ", ROLE_STYLES["system"]), session.system)
        # On a terminal rich wraps it at the width; piped, it is printed whole.
        console.print(system, soft_wrap=not console.is_terminal)


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


def indented(console: Console, text: Text, *, wrap: bool) -> list[Text]:
    """``text`` indented under its role: wrapped to the console's width when ``wrap``,
    else one output line per line of text, however long."""
    lines: list[Text] = []
    room = max(console.width - len(INDENT), 20)
    for line in text.split("\n", allow_blank=True):
        pieces = line.wrap(console, room, overflow="fold") if wrap and line else [line]
        for piece in pieces:
            piece.rstrip()
            lines.append(Text(INDENT) + piece)
    return lines


def conversation(console: Console, messages: Sequence[Message]) -> Iterator[Text]:
    """Messages as lines: a role heading, then its parts, indented; a blank line after."""
    wrap = console.is_terminal
    for message in messages:
        yield Text(message.role, ROLE_STYLES.get(message.role, "bold"))
        for part in [part_text(p) for p in message.parts] or [Text("(empty)", "dim")]:
            yield from indented(console, part, wrap=wrap)
        yield Text("")


def print_session(console: Console, session: ConversationSession) -> None:
    print_header(console, session)
    console.print()
    if not session.messages:
        console.print(Text("(no messages yet)", "dim"))
    for line in conversation(console, session.messages):
        console.print(line, soft_wrap=True)


@contextmanager
def progress(console: Console, description: str) -> Iterator[Callable[[int, int], None]]:
    """A ``report(done, total)`` callback that drives a progress bar on ``console``
    when it is a terminal, and does nothing otherwise."""
    if not console.is_terminal:
        yield lambda done, total: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)
