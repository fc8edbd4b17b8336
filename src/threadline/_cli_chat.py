"""How ``threadline chat`` talks: which session, slash commands, turns, Ctrl-C, retries.

Every line of input, whether typed at the prompt, piped or given with ``-m``, goes
through `step`: ``/exit``, ``/quit`` and ``/help`` are commands, any other ``/word`` is
an unknown command (an error, never sent), ``//text`` sends ``/text``, and anything
else is sent to the model.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from enum import Enum

import typer
from rich.text import Text

from . import ConversationSession, SessionManager, ThreadlineError
from ._cli_render import fail, print_error, stderr

HELP = (
    "/exit or /quit: leave · /help: this list · //text sends /text to the model"
    " · anything else is sent to the model"
)
INTERRUPTED = "(interrupted: this turn was not saved)"
# A command is a slash and a word at the start of the line: "/usr/bin ..." is a message.
COMMAND = re.compile(r"/([A-Za-z][\w-]*)(?:\s.*)?", re.DOTALL)


class Step(Enum):
    """What one line of input came to."""

    DONE = "done"  # sent and answered, or a command that worked
    FAILED = "failed"  # the turn failed, or an unknown command
    INTERRUPTED = "interrupted"  # Ctrl-C during the turn: nothing saved
    EXIT = "exit"  # /exit or /quit


# -- which session --------------------------------------------------------------------


def pick_session(
    manager: SessionManager,
    *,
    continue_last: bool,
    session_id: str | None,
    provider: str | None,
    model: str | None,
    system: str | None,
    user: str | None,
) -> tuple[ConversationSession, bool]:
    """The session ``chat`` talks to, continued (``-c``/``--session``) or new, and
    whether it is new."""
    if continue_last and session_id:
        fail("use either --continue or --session, not both")
    if not (continue_last or session_id):
        return manager.create(provider or "echo", model, user=user, system=system), True
    if continue_last:
        session_id = latest_with_messages(manager, user)
        if session_id is None:
            fail("no session to continue; start one with `threadline chat`")
    assert session_id is not None
    session = manager.get(session_id, user=user)
    if provider is not None and provider != session.provider:
        fail(
            f"session {session.id} uses {session.provider}; to move it to {provider}, "
            f"`threadline fork {session.id} --provider {provider}`"
        )
    if model is not None and model != session.model:
        fail(
            f"session {session.id} uses model {session.model}; to change it, "
            f"`threadline fork {session.id} --model {model}`"
        )
    if system is not None and system != session.system:
        fail("--system applies to new sessions only")
    return session, False


def latest_with_messages(manager: SessionManager, user: str | None) -> str | None:
    """The most recently used session that holds a conversation (empty ones are
    skipped: there is nothing in them to continue)."""
    cursor = None
    while True:
        page = manager.list(user=user, order_by="updated", limit=100, cursor=cursor)
        for info in page:
            if info.message_count > 0:
                return info.id
        if page.next_cursor is None:
            return None
        cursor = page.next_cursor


def drop_if_empty(manager: SessionManager, session: ConversationSession) -> None:
    """Delete a session ``chat`` created if no turn of it was saved."""
    session.refresh()
    if session.messages:
        return
    manager.delete(session.id)
    stderr.print(Text(f"(nothing was said: session {session.id} was not kept)", "dim"))


# -- lines, commands and turns ----------------------------------------------------------


def step(session: ConversationSession, line: str, *, interactive: bool) -> Step:
    """Handle one line of input (see the module docstring)."""
    text = line.strip()
    command = COMMAND.fullmatch(text)
    if command is not None:
        name = command.group(1)
        if name in ("exit", "quit"):
            return Step.EXIT
        if name == "help":
            stderr.print(HELP)
            return Step.DONE
        print_error(
            f"unknown command /{name} (/help lists the commands;"
            f" //{name} sends /{name} to the model)"
        )
        return Step.FAILED
    if text.startswith("//"):
        text = text[1:]
    try:
        turn(session, text, interactive=interactive)
    except ThreadlineError as exc:
        # A failed turn leaves the session as it was; the conversation can go on.
        print_error(str(exc))
        return Step.FAILED
    except KeyboardInterrupt:
        # Ctrl-C mid-reply: the stream is closed, the library drops the turn (and any
        # server-side copy that may hold it) and the session goes on as it was.
        stderr.print(Text(INTERRUPTED, "dim"))
        return Step.INTERRUPTED
    return Step.DONE


def turn(session: ConversationSession, text: str, *, interactive: bool) -> None:
    """Send one message and stream the reply to stdout."""
    if interactive:
        typer.echo(typer.style("assistant> ", fg="green", bold=True), nl=False)
    events = session.stream(text)
    try:
        for event in events:
            if event.type == "text":
                typer.echo(event.text, nl=False)
            elif event.type == "tool_call" and event.tool_call is not None:
                call = event.tool_call
                typer.echo(f"[tool call {call.name}({json.dumps(call.arguments)})]", nl=False)
    finally:
        if isinstance(events, Generator):
            events.close()  # now, not when collected: an interrupted turn ends here
        typer.echo()


def one_shot(session: ConversationSession, message: str) -> int:
    """``chat -m``: one line; the exit status."""
    result = step(session, message, interactive=False)
    return {Step.FAILED: 1, Step.INTERRUPTED: 130}.get(result, 0)


def repl(session: ConversationSession, *, interactive: bool) -> int:
    """Read lines until /exit or the end of input; the exit status (1 if anything
    failed)."""
    failed = False
    while True:
        try:
            line = input("you> ") if interactive else sys.stdin.readline()
        except (EOFError, KeyboardInterrupt):
            if interactive:
                typer.echo()
            break
        if not interactive and not line:
            break  # end of piped input
        if not line.strip():
            continue
        result = step(session, line, interactive=interactive)
        if result is Step.EXIT:
            break
        failed = failed or result is Step.FAILED
    return 1 if failed else 0


# -- retries ------------------------------------------------------------------------------


class _RetryNotices(logging.Handler):
    """Prints a line on stderr for each ``threadline.retry`` event; with
    ``warnings``, also prints warnings (the ones Python's last-resort handler would have
    printed had this handler not been there)."""

    def __init__(self, *, warnings: bool) -> None:
        super().__init__(logging.DEBUG)
        self.warnings = warnings

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "threadline", None)
        if isinstance(fields, dict) and fields.get("event") == "threadline.retry":
            delay = float(fields.get("delay_s") or 0)
            kind = fields.get("error_type")
            notice = f"(the model call failed: {kind}; retrying in {delay:.1f}s)"
            stderr.print(Text(notice, "dim"))
        elif self.warnings and record.levelno >= logging.WARNING:
            stderr.print(record.getMessage())


@contextmanager
def retry_notices() -> Iterator[None]:
    """Say on stderr when chat waits on a retry.

    threadline logs each retry of a model call as a ``threadline.retry`` debug event
    (docs/observability.md). This listens for it on the ``threadline`` logger, and
    leaves what other handlers show (and the logger's level) as they were.
    """
    logger = logging.getLogger("threadline")
    level = logger.level
    effective = logger.getEffectiveLevel()
    root = logging.getLogger()
    others = [h for h in (*logger.handlers, *root.handlers) if h.level == logging.NOTSET]
    handler = _RetryNotices(warnings=not logger.handlers and not root.handlers)
    for other in others:
        other.setLevel(effective)  # debug records are for the notices only
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.setLevel(level)
        logger.removeHandler(handler)
        for other in others:
            other.setLevel(logging.NOTSET)
