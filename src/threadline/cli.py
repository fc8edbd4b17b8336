"""The ``threadline`` command: chat with, list, show, export, import and delete sessions.

Replies go to stdout; session ids, notices and errors go to stderr, so
``threadline chat -m "hi" > reply.txt`` captures only the reply. A mistake (unknown
id, bad store URL, invalid id, any `ThreadlineError`) prints one ``error:`` line and
exits with status 1; usage errors exit with 2.

typer and rich are imported here, never by ``import threadline``.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from . import SessionManager, SessionStatus, StoreError, ThreadlineError, __version__
from . import _cli_chat as chatting
from . import _cli_render as render
from ._cli_render import CLIError, fail, print_error, stderr, stdout

app = typer.Typer(
    name="threadline",
    help="LLM conversation sessions mirrored in a store you own.",
    cls=render.QuietHelp,
    no_args_is_help=True,
    add_completion=False,
    # Tracebacks with locals could print API keys; errors are handled per command.
    pretty_exceptions_enable=False,
)

STORE_HELP = (
    "Store URL (memory://, sqlite:///file.db, postgresql://…, redis://…)."
    " Default: $THREADLINE_STORE, else sessions.db in the user data dir."
)

Store = Annotated[
    str | None, typer.Option("--store", help=STORE_HELP, show_default=False, metavar="URL")
]
User = Annotated[
    str | None,
    typer.Option("--user", "-u", help="Act as this user: only their sessions are visible."),
]
SessionId = Annotated[str, typer.Argument(help="Session id, as `threadline ls` shows it.")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON (see docs/cli.md).")]

EXIT_ERROR = 1
NO_DEFAULT = "use --store URL or set THREADLINE_STORE"


@contextmanager
def errors_as_messages() -> Iterator[None]:
    """Turn user mistakes into one ``error:`` line and exit status 1."""
    try:
        yield
    except (ThreadlineError, CLIError) as exc:
        print_error(str(exc))
        raise typer.Exit(EXIT_ERROR) from None
    except ImportError as exc:
        # A provider whose adapter or SDK is not installed.
        print_error(f"not available in this installation: {exc}")
        raise typer.Exit(EXIT_ERROR) from None


@contextmanager
def open_manager(store: str | None) -> Iterator[SessionManager]:
    with errors_as_messages(), connect(store) as manager:
        yield manager


def connect(store: str | None) -> SessionManager:
    """A manager on ``store``, else $THREADLINE_STORE, else the default file; a default
    file that cannot be placed or opened is an error saying how to choose another."""
    if store or os.environ.get("THREADLINE_STORE"):
        return SessionManager(store)
    from .stores import default_store_url

    try:
        url = default_store_url()
    except Exception as exc:  # platformdirs: no usable home directory
        fail(f"no place for the default store ({exc}); {NO_DEFAULT}")
    if not Path(url.removeprefix("sqlite:///")).is_absolute():
        fail(f"no place for the default store ({url} is not an absolute path); {NO_DEFAULT}")
    try:
        return SessionManager(url)
    except StoreError as exc:
        fail(f"{exc} (the default store; {NO_DEFAULT})")


def writable(manager: SessionManager, command: str) -> None:
    """Refuse a command that writes before it starts, on a read-only store."""
    if getattr(manager.store, "read_only", False):
        where = getattr(manager.store, "path", "")
        fail(
            f"the store {where} is read-only (opened with ?mode=ro, or not writable by this"
            f" user): `threadline {command}` cannot write to it"
        )


# -- commands ----------------------------------------------------------------------


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"threadline {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=version_callback, is_eager=True, help="Print version."),
    ] = False,
) -> None:
    """LLM conversation sessions mirrored in a store you own."""


@app.command()
def chat(
    continue_last: Annotated[
        bool,
        typer.Option(
            "--continue", "-c", help="Continue the most recently used session with messages."
        ),
    ] = False,
    session_id: Annotated[
        str | None, typer.Option("--session", "-s", help="Continue this session.", metavar="ID")
    ] = None,
    message: Annotated[
        str | None,
        typer.Option(
            "--message", "-m", help="Send one message, print the reply, exit.", metavar="TEXT"
        ),
    ] = None,
    provider: Annotated[
        str | None, typer.Option(help="Provider of a new session (default: echo).")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model of a new session.")] = None,
    system: Annotated[
        str | None, typer.Option(help="System prompt of a new session.", metavar="TEXT")
    ] = None,
    user: User = None,
    store: Store = None,
) -> None:
    """Chat in a new or existing session, streaming the replies.

    Interactive on a terminal (/exit or Ctrl-D quits, /help lists the commands). With
    --message, or with input piped in (one message per line), it answers and exits.
    """
    status = 0
    with open_manager(store) as manager:
        writable(manager, "chat")
        if message is not None and not message.strip():
            fail("nothing to send: the message is empty")
        session, created = chatting.pick_session(
            manager,
            continue_last=continue_last,
            session_id=session_id,
            provider=provider,
            model=model,
            system=system,
            user=user,
        )
        try:
            if session.status is not SessionStatus.ACTIVE:
                fail(
                    f"session {session.id} is {session.status.value}; "
                    "only active sessions take new messages"
                )
            interactive = message is None and sys.stdin.isatty()
            stderr.print(
                Text(
                    f"session {session.id} · {session.provider}/{session.model}"
                    f" · {len(session.messages)} messages ({'new' if created else 'continued'})",
                    "dim",
                )
            )
            if interactive:
                stderr.print(Text("type a message; /exit or Ctrl-D quits, /help helps", "dim"))
            with chatting.retry_notices():
                if message is not None:
                    status = chatting.one_shot(session, message)
                else:
                    status = chatting.repl(session, interactive=interactive)
        finally:
            # A new session no turn was saved in (no input, a failed turn, Ctrl-C)
            # is not kept: `chat -c` would otherwise continue an empty session.
            if created:
                chatting.drop_if_empty(manager, session)
    if status:
        raise typer.Exit(status)


LS_LIMIT = 20


@app.command("ls")
def list_sessions(
    user: User = None,
    status: Annotated[
        str | None, typer.Option(help="Only sessions in this status (active, paused, ...).")
    ] = None,
    provider: Annotated[str | None, typer.Option(help="Only sessions of this provider.")] = None,
    limit: Annotated[
        int, typer.Option(help="Show at most this many (1-1000).", metavar="N")
    ] = LS_LIMIT,
    cursor: Annotated[str | None, typer.Option(help="Continue a previous listing.")] = None,
    as_json: Json = False,
    store: Store = None,
) -> None:
    """List sessions, most recently used first."""
    with open_manager(store) as manager:
        infos = manager.list(
            user=user,
            status=status,
            provider=provider,
            limit=limit,
            cursor=cursor,
            order_by="updated",
        )
        if as_json:
            sessions = [info.model_dump(mode="json") for info in infos]
            render.print_json({"sessions": sessions, "next_cursor": infos.next_cursor})
            return
        if not infos:
            stderr.print("no sessions")
            return
        show_user = user is None and any(info.user for info in infos)
        render.print_sessions(stdout, infos, show_user=show_user)
        if infos.next_cursor:
            # Everything needed to continue this listing, ready to paste.
            again = ["threadline", "ls"]
            for flag, value in (("--user", user), ("--status", status), ("--provider", provider)):
                if value is not None:
                    again += [flag, value]
            if limit != LS_LIMIT:
                again += ["--limit", str(limit)]
            if store:
                again += ["--store", store]
            again += ["--cursor", infos.next_cursor]
            stderr.print(Text(f"more: {shlex.join(again)}", "dim"))


@app.command()
def show(
    session_id: SessionId, as_json: Json = False, user: User = None, store: Store = None
) -> None:
    """Show a session and its conversation (--json: its export document)."""
    with open_manager(store) as manager:
        session = manager.get(session_id, user=user)
        if as_json:
            render.print_json(session.export())
        else:
            render.print_session(stdout, session)


@app.command("rm")
def remove(
    session_id: SessionId,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    user: User = None,
    store: Store = None,
) -> None:
    """Delete a session and its messages (and its server-side state, if any)."""
    with open_manager(store) as manager:
        writable(manager, "rm")
        try:
            session = manager.get(session_id, user=user)
            summary = (
                f"{session.id} ({session.provider}/{session.model},"
                f" {len(session.messages)} messages)"
            )
        except StoreError as exc:
            if exc.session_id != session_id:
                raise
            # Its row cannot be read, but it can still go (owner checked by the store).
            summary = f"{session_id} (its stored record is damaged)"
        if not yes and not typer.confirm(f"Delete session {summary}?", err=True):
            stderr.print("kept")
            raise typer.Exit(EXIT_ERROR)
        manager.delete(session_id, user=user)
        stderr.print(f"deleted {summary}")


@app.command("export")
def export_session(
    session_id: SessionId,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write to this file instead of stdout.", metavar="FILE"
        ),
    ] = None,
    user: User = None,
    store: Store = None,
) -> None:
    """Write a session as a JSON document that `threadline import` reads back."""
    with open_manager(store) as manager:
        session = manager.get(session_id, user=user)
        document = json.dumps(session.export(), indent=2, ensure_ascii=False) + "\n"
        if output is None:
            typer.echo(document, nl=False)
            return
        try:
            output.write_text(document, encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write {output}: {exc.strerror or exc}")
        stderr.print(f"exported {session.id} ({len(session.messages)} messages) to {output}")


@app.command("import")
def import_session(
    file: Annotated[str, typer.Argument(help="An export document; - reads stdin.")],
    keep_id: Annotated[
        bool, typer.Option("--keep-id", help="Keep the exported id instead of a new one.")
    ] = False,
    user: Annotated[
        str | None, typer.Option("--user", "-u", help="Owner of the copy (default: as exported).")
    ] = None,
    store: Store = None,
) -> None:
    """Create a session from an export document; print its id."""
    with open_manager(store) as manager:
        writable(manager, "import")
        data = read_document(file)
        session = manager.import_session(data, user=user, keep_id=keep_id)
        typer.echo(session.id)
        stderr.print(f"imported {len(session.messages)} messages as {session.id}")


def read_document(file: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}")
    except UnicodeDecodeError:
        fail(f"{file} is not a UTF-8 text file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{file} is not JSON: {exc.msg} (line {exc.lineno})")
    if not isinstance(data, dict):
        fail(f"{file} is not a threadline export (expected a JSON object)")
    return data


@app.command()
def fork(
    session_id: SessionId,
    provider: Annotated[str | None, typer.Option(help="Hand the copy to this provider.")] = None,
    model: Annotated[str | None, typer.Option(help="Model of the copy.")] = None,
    at: Annotated[
        str | None,
        typer.Option(
            help="Copy history only up to this checkpoint (id or label).", metavar="CHECKPOINT"
        ),
    ] = None,
    user: User = None,
    store: Store = None,
) -> None:
    """Copy a session into a new one (optionally another provider/model); print its id."""
    with open_manager(store) as manager:
        writable(manager, "fork")
        session = manager.get(session_id, user=user)
        options: dict[str, Any] = {}
        if provider is not None:
            options["provider"] = provider
        if model is not None:
            options["model"] = model
        if at is not None:
            options["at"] = at
        child = session.fork(**options)
        typer.echo(child.id)
        stderr.print(
            f"forked {session.id} into {child.id} ({child.provider}/{child.model},"
            f" {len(child.messages)} messages)"
        )


@app.command()
def cleanup(store: Store = None) -> None:
    """Delete every expired session; print how many were removed."""
    with open_manager(store) as manager:
        writable(manager, "cleanup")
        with render.progress(stderr, "removing expired sessions") as report:
            removed = manager.cleanup_expired(progress=report)
        stderr.print(f"removed {removed} expired session{'s' if removed != 1 else ''}")


@app.command("migrate-v1")
def migrate_v1(
    v1_db: Annotated[
        Path, typer.Argument(help="A LangSwarm v1 session database; it is never written.")
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every session and report; write nothing.")
    ] = False,
    timezone: Annotated[
        str | None,
        typer.Option(help="Zone v1's naive timestamps were written in. [default: local]"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    store: Store = None,
) -> None:
    """Move every session of a LangSwarm v1 database into the store (idempotent)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ._migrate_v1 import migrate_v1 as run
    from ._migrate_v1 import print_summary

    with errors_as_messages():
        zone = None
        if timezone is not None:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                zone = ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError):
                fail(f"unknown time zone {timezone!r} (use an IANA name such as Europe/Paris)")
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=stderr, transient=True) as bar:
            task = bar.add_task("checking" if dry_run else "migrating", total=None)
            summary = run(
                v1_db,
                store,
                dry_run=dry_run,
                timezone=zone,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    if as_json:
        typer.echo(json.dumps(summary.as_dict(), indent=2, ensure_ascii=False))
    else:
        print_summary(stderr, summary)
    if summary.failed:
        raise typer.Exit(EXIT_ERROR)


@app.command("migrate-store")
def migrate_store(
    source: Annotated[str, typer.Argument(help="Store URL to copy from; never written.")],
    target: Annotated[str, typer.Argument(help="Store URL to copy into.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Compare every session and report; write nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Copy every session between two stores (idempotent; run again to resume)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ._migrate_store import migrate_store as run
    from .stores import open_store

    with errors_as_messages():
        if source == target:
            fail("the source and the target are the same store")
        src = open_store(source)
        try:
            dst = open_store(target)
            try:
                columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
                with Progress(*columns, console=stderr, transient=True) as bar:
                    task = bar.add_task("checking" if dry_run else "copying", total=None)
                    summary = run(
                        src,
                        dst,
                        dry_run=dry_run,
                        progress=lambda done, total: bar.update(task, completed=done, total=total),
                    )
            finally:
                dst.close()
        finally:
            src.close()
    if as_json:
        typer.echo(json.dumps(summary.as_dict(), indent=2))
    else:
        stderr.print(summary.describe())
        for session_id in summary.conflicts:
            stderr.print(f"conflict: {session_id} differs in the target and was left as it is")
    if summary.conflicts:
        raise typer.Exit(EXIT_ERROR)


def main() -> None:
    """Entry point of the ``threadline`` script."""
    app()


if __name__ == "__main__":
    main()
