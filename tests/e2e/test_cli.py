"""The ``threadline`` command, end to end on a SQLite store in a temporary directory.

Replies go to stdout, notices and errors to stderr; user mistakes exit with status 1
and one ``error:`` line, never a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

import threadline as tl
from threadline.cli import app


def run(*args: str, input: str | None = None) -> Result:
    result = CliRunner().invoke(app, list(args), input=input)
    assert "Traceback" not in result.output
    return result


def only_session(manager: tl.SessionManager) -> tl.ConversationSession:
    infos = manager.list()
    assert len(infos) == 1
    return manager.get(infos[0].id)


def texts(session: tl.ConversationSession) -> list[tuple[str, str]]:
    return [(m.role, m.text) for m in session.messages]


# -- chat ---------------------------------------------------------------------------


def test_chat_one_shot_prints_only_the_reply_on_stdout(manager: tl.SessionManager) -> None:
    """``chat -m`` streams the reply to stdout; the session id goes to stderr."""
    result = run("chat", "-m", "hello there")
    assert result.exit_code == 0
    assert result.stdout == "echo: hello there\n"
    session = only_session(manager)
    assert f"session {session.id}" in result.stderr
    assert "(new)" in result.stderr
    assert texts(session) == [("user", "hello there"), ("assistant", "echo: hello there")]
    assert session.provider == "echo"


def test_chat_new_session_takes_user_system_and_model(manager: tl.SessionManager) -> None:
    """A new session records --user, --system and --model."""
    result = run("chat", "--user", "alice", "--system", "Be terse.", "--model", "echo-2", "-m", "x")
    assert result.exit_code == 0
    session = only_session(manager)
    assert (session.user, session.system, session.model) == ("alice", "Be terse.", "echo-2")


def test_chat_reads_piped_lines_as_turns_until_exit(manager: tl.SessionManager) -> None:
    """Piped input is one message per line; blank lines are skipped, /exit stops."""
    result = run("chat", input="one\n\ntwo words\n/exit\nnever sent\n")
    assert result.exit_code == 0
    assert result.stdout == "echo: one\necho: two words\n"
    session = only_session(manager)
    assert [t for _, t in texts(session)] == ["one", "echo: one", "two words", "echo: two words"]


def test_chat_stops_at_end_of_input(manager: tl.SessionManager) -> None:
    """End of piped input ends the chat like /exit."""
    result = run("chat", input="only\n")
    assert result.exit_code == 0
    assert result.stdout == "echo: only\n"
    assert len(only_session(manager).messages) == 2


def test_chat_continue_picks_the_most_recently_used_session(manager: tl.SessionManager) -> None:
    """``-c`` continues the session written last, not the one created last."""
    older = manager.create()
    newer = manager.create()
    newer.send("newer first")
    older.send("older used last")
    result = run("chat", "-c", "-m", "again")
    assert result.exit_code == 0
    assert result.stdout == "echo: again\n"
    assert f"session {older.id}" in result.stderr
    assert "(continued)" in result.stderr
    older.refresh()
    newer.refresh()
    assert [t for _, t in texts(older)][-2:] == ["again", "echo: again"]
    assert len(newer.messages) == 2


def test_chat_continue_is_scoped_to_the_user(manager: tl.SessionManager) -> None:
    """``-c --user`` continues that user's latest session, never another user's."""
    alice = manager.create(user="alice")
    alice.send("alice was here")
    manager.create(user="bob").send("bob was here")
    result = run("chat", "-c", "--user", "alice", "-m", "hi")
    assert result.exit_code == 0
    alice.refresh()
    assert texts(alice)[2:] == [("user", "hi"), ("assistant", "echo: hi")]


def test_chat_session_option_continues_that_session(manager: tl.SessionManager) -> None:
    """``--session ID`` sends to that session; its history is kept."""
    session = manager.create()
    session.send("first")
    result = run("chat", "--session", session.id, "-m", "second")
    assert result.exit_code == 0
    assert result.stdout == "echo: second\n"
    session.refresh()
    assert [t for _, t in texts(session)] == ["first", "echo: first", "second", "echo: second"]


def test_chat_continue_with_nothing_to_continue_is_an_error(store_url: str) -> None:
    result = run("chat", "-c", "-m", "hi")
    assert result.exit_code == 1
    assert result.stderr == "error: no session to continue; start one with `threadline chat`\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--session", "ses_missing"], "error: session 'ses_missing' not found"),
        (["--session", "../../etc/passwd"], "error: session id '../../etc/passwd' may only hold"),
        (["--provider", "nope"], "error: unknown provider 'nope'"),
        (["--store", "nowhere"], "error: store URL 'nowhere' needs a scheme"),
        (["--store", "mysql://db/x"], "error: unknown store scheme 'mysql'"),
    ],
)
def test_chat_mistakes_are_one_line_errors(store_url: str, args: list[str], message: str) -> None:
    """Unknown ids, bad ids, unknown providers and bad store URLs exit 1 with one line."""
    result = run("chat", *args, "-m", "hi")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1


def test_chat_refuses_another_users_session(manager: tl.SessionManager) -> None:
    """A session of another user is 'not found', exactly like a missing one."""
    session = manager.create(user="alice")
    result = run("chat", "--session", session.id, "--user", "bob", "-m", "hi")
    assert result.exit_code == 1
    assert result.stderr == f"error: session {session.id!r} not found\n"
    session.refresh()
    assert session.messages == []


def test_chat_refuses_both_continue_and_session(manager: tl.SessionManager) -> None:
    session = manager.create()
    result = run("chat", "-c", "--session", session.id, "-m", "hi")
    assert result.exit_code == 1
    assert result.stderr == "error: use either --continue or --session, not both\n"


def test_chat_refuses_to_switch_provider_and_points_to_fork(manager: tl.SessionManager) -> None:
    """An existing session keeps its provider and model; ``fork`` is the way to switch."""
    session = manager.create()
    result = run("chat", "--session", session.id, "--model", "other", "-m", "hi")
    assert result.exit_code == 1
    assert f"threadline fork {session.id} --model other" in result.stderr
    result = run("chat", "--session", session.id, "--system", "new prompt", "-m", "hi")
    assert result.stderr == "error: --system applies to new sessions only\n"


def test_chat_refuses_a_session_that_is_not_active(manager: tl.SessionManager) -> None:
    session = manager.create()
    session.pause()
    result = run("chat", "--session", session.id, "-m", "hi")
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: session {session.id} is paused; only active sessions take new messages\n"
    )


# -- ls -----------------------------------------------------------------------------


def table_rows(stdout: str) -> dict[str, list[str]]:
    """``ls`` output as {session id: the other cells}, header left out."""
    lines = stdout.splitlines()
    assert lines[0].split()[0] == "id"
    return {cells[0]: cells[1:] for cells in (line.split() for line in lines[1:])}


def test_ls_lists_sessions_most_recently_used_first(manager: tl.SessionManager) -> None:
    """Each row: id, provider/model, status, message count; one line per session."""
    first = manager.create()
    second = manager.create()
    second.send("hi")
    second.pause()
    first.send("later")
    first.send("and again")
    result = run("ls")
    assert result.exit_code == 0
    rows = table_rows(result.stdout)
    assert list(rows) == [first.id, second.id]
    assert rows[first.id][:3] == ["echo/echo-1", "active", "4"]
    assert rows[second.id][:3] == ["echo/echo-1", "paused", "2"]


def test_ls_filters_by_user_and_status(manager: tl.SessionManager) -> None:
    alice = manager.create(user="alice")
    bob = manager.create(user="bob")
    bob.archive()
    everyone = table_rows(run("ls").stdout)
    assert everyone[alice.id][0] == "alice"  # the user column appears when users differ
    assert list(table_rows(run("ls", "--user", "alice").stdout)) == [alice.id]
    assert list(table_rows(run("ls", "--status", "archived").stdout)) == [bob.id]


def test_ls_limit_points_to_the_next_page(manager: tl.SessionManager) -> None:
    ids = [manager.create().id for _ in range(3)]
    result = run("ls", "--limit", "2")
    assert list(table_rows(result.stdout)) == ids[:0:-1]
    hint = result.stderr.strip()
    assert hint.startswith("more: threadline ls --limit 2 --cursor ")
    cursor = hint.rsplit(" ", 1)[1]
    rest = run("ls", "--limit", "2", "--cursor", cursor)
    assert list(table_rows(rest.stdout)) == [ids[0]]
    assert rest.stderr == ""


def test_ls_on_an_empty_store_says_so(store_url: str) -> None:
    result = run("ls")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "no sessions\n")


def test_ls_rejects_an_unknown_status(store_url: str) -> None:
    result = run("ls", "--status", "sleeping")
    assert result.exit_code == 1
    assert result.stderr == "error: unknown status 'sleeping'\n"


# -- show ---------------------------------------------------------------------------


def test_show_renders_the_conversation_with_roles(manager: tl.SessionManager) -> None:
    session = manager.create(user="alice", system="Be terse.")
    session.send("Hello")
    session.checkpoint("greeted")
    result = run("show", session.id)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == f"{session.id}  echo/echo-1"
    assert "status active · mode native · user alice · 2 messages" in lines
    assert "checkpoints greeted (at 2)" in lines
    assert "system: Be terse." in lines
    body = lines[lines.index("user") :]
    assert body == ["user", "  Hello", "", "assistant", "  echo: Hello", ""]


def test_show_prints_markup_and_tool_calls_literally(manager: tl.SessionManager) -> None:
    """Message text is never read as rich markup; tool calls and results are shown."""
    session = manager.create()
    session.send("[red]not red[/red] :smile:")
    reply = session.send('/tool lookup {"q": "x"}', tools=[tl.Tool(name="lookup")])
    call = reply.tool_calls[0]
    session.send(tl.ToolResult(call_id=call.call_id, output={"found": 1}))
    out = run("show", session.id).stdout
    assert "  [red]not red[/red] :smile:\n" in out
    assert f'  -> lookup({{"q": "x"}})  [{call.call_id}]\n' in out
    assert f'  <- result for {call.call_id}: {{"found": 1}}\n' in out
    assert "tool\n" in out


def test_show_unknown_and_foreign_sessions_are_not_found(manager: tl.SessionManager) -> None:
    session = manager.create(user="alice")
    for args in (["ses_nothing"], [session.id, "--user", "bob"]):
        result = run("show", *args)
        assert result.exit_code == 1
        assert result.stderr == f"error: session {args[0]!r} not found\n"


# -- rm -----------------------------------------------------------------------------


def test_rm_asks_and_keeps_the_session_unless_confirmed(manager: tl.SessionManager) -> None:
    session = manager.create()
    result = run("rm", session.id, input="n\n")
    assert result.exit_code == 1
    assert f"Delete session {session.id} (echo/echo-1, 0 messages)?" in result.stderr
    assert [i.id for i in manager.list()] == [session.id]
    result = run("rm", session.id, input="y\n")
    assert result.exit_code == 0
    assert f"deleted {session.id}" in result.stderr
    assert manager.list() == []


def test_rm_yes_deletes_without_asking(manager: tl.SessionManager) -> None:
    keep = manager.create()
    gone = manager.create()
    result = run("rm", gone.id, "--yes")
    assert result.exit_code == 0
    assert "?" not in result.stderr
    assert [i.id for i in manager.list()] == [keep.id]
    with pytest.raises(tl.SessionNotFoundError, match=r"session .* not found"):
        manager.get(gone.id)


def test_rm_unknown_session_is_an_error(store_url: str) -> None:
    result = run("rm", "ses_nothing", "--yes")
    assert (result.exit_code, result.stderr) == (1, "error: session 'ses_nothing' not found\n")


# -- export / import / fork / cleanup ------------------------------------------------


def test_export_to_stdout_is_the_export_document(manager: tl.SessionManager) -> None:
    session = manager.create(user="alice")
    session.send("keep me")
    result = run("export", session.id)
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["format_version"] == 1
    assert document["session"]["id"] == session.id
    assert [m["parts"][0]["text"] for m in document["messages"]] == ["keep me", "echo: keep me"]


def test_export_then_import_round_trips_into_another_store(
    manager: tl.SessionManager, tmp_path: Path
) -> None:
    session = manager.create(user="alice", system="Be terse.")
    session.send("keep me")
    file = tmp_path / "export.json"
    result = run("export", session.id, "-o", str(file))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert f"exported {session.id} (2 messages) to {file}" in result.stderr

    other = f"sqlite:///{tmp_path / 'other.db'}"
    result = run("import", str(file), "--keep-id", "--store", other)
    assert result.exit_code == 0
    assert result.stdout == f"{session.id}\n"
    with tl.SessionManager(other) as second:
        copy = second.get(session.id, user="alice")
        assert texts(copy) == texts(session)
        assert copy.system == "Be terse."


def test_import_gives_a_new_id_and_can_change_the_owner(
    manager: tl.SessionManager, tmp_path: Path
) -> None:
    session = manager.create(user="alice")
    session.send("hi")
    file = tmp_path / "export.json"
    file.write_text(json.dumps(session.export()))
    result = run("import", str(file), "--user", "bob")
    assert result.exit_code == 0
    new_id = result.stdout.strip()
    assert new_id != session.id
    copy = manager.get(new_id, user="bob")
    assert texts(copy) == texts(session)
    # Importing the same id twice is refused, not merged.
    again = run("import", str(file), "--keep-id")
    assert again.exit_code == 1
    assert again.stderr == f"error: session id {session.id!r} is already taken\n"


def test_import_reads_stdin(manager: tl.SessionManager) -> None:
    session = manager.create()
    session.send("piped")
    result = run("import", "-", input=json.dumps(session.export()))
    assert result.exit_code == 0
    assert texts(manager.get(result.stdout.strip())) == texts(session)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "error: cannot read {file}: No such file or directory\n"),
        ("not json", "error: {file} is not JSON: Expecting value (line 1)\n"),
        ("[1, 2]", "error: {file} is not a threadline export (expected a JSON object)\n"),
        (
            '{"format_version": 99}',
            "error: not a threadline export of format_version 1 (found 99)\n",
        ),
    ],
)
def test_import_bad_files_are_one_line_errors(
    store_url: str, tmp_path: Path, content: str | None, message: str
) -> None:
    file = tmp_path / "doc.json"
    if content is not None:
        file.write_text(content)
    result = run("import", str(file))
    assert result.exit_code == 1
    assert result.stderr == message.format(file=file)


def test_fork_prints_the_child_id(manager: tl.SessionManager) -> None:
    session = manager.create()
    session.send("one")
    session.checkpoint("after-one")
    session.send("two")
    result = run("fork", session.id, "--at", "after-one")
    assert result.exit_code == 0
    child = manager.get(result.stdout.strip())
    assert child.parent_id == session.id
    assert texts(child) == [("user", "one"), ("assistant", "echo: one")]
    assert len(manager.get(session.id).messages) == 4


def test_cleanup_removes_expired_sessions(manager: tl.SessionManager, move_clock: Any) -> None:
    keep = manager.create()
    manager.create(ttl=timedelta(hours=1))
    move_clock(timedelta(hours=2))  # two hours pass
    result = run("cleanup")
    assert result.exit_code == 0
    assert result.stderr == "removed 1 expired session\n"
    assert [i.id for i in manager.list()] == [keep.id]
    assert manager.list(status="expired") == []


def test_version_and_help() -> None:
    assert run("--version").stdout == f"threadline {tl.__version__}\n"
    result = run("--help")
    assert result.exit_code == 0
    for command in ("chat", "ls", "show", "rm", "export", "import", "fork", "cleanup"):
        assert command in result.stdout


# -- the installed command -------------------------------------------------------------


def test_the_real_command_fails_cleanly_in_a_subprocess(tmp_path: Path) -> None:
    """Run as a process: a mistake is one stderr line and status 1, no traceback."""
    env = {**os.environ, "THREADLINE_STORE": f"sqlite:///{tmp_path / 's.db'}"}
    cmd = [sys.executable, "-m", "threadline.cli"]
    ok = subprocess.run([*cmd, "chat", "-m", "hi"], capture_output=True, text=True, env=env)
    assert (ok.returncode, ok.stdout) == (0, "echo: hi\n")
    bad = subprocess.run([*cmd, "show", "ses_nope"], capture_output=True, text=True, env=env)
    assert (bad.returncode, bad.stdout, bad.stderr) == (
        1,
        "",
        "error: session 'ses_nope' not found\n",
    )


def test_import_threadline_does_not_import_the_cli_dependencies() -> None:
    """typer and rich are loaded by the CLI only."""
    code = "import sys, threadline; print(sorted({'typer', 'rich'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "[]\n"
