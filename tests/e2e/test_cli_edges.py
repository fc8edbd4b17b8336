"""The CLI's rough edges (issue 8, item 6), each pinned by a test.

Long text printed whole, stores that cannot be opened or written, damaged rows, empty
sessions left by ``chat``, slash commands, clean ``--help``, narrow terminals, paging,
progress and retry notices, and ``--json``. Terminal behaviour is checked on a real
pseudo-terminal; piped behaviour with typer's runner and with real subprocesses.
"""

from __future__ import annotations

import fcntl
import functools
import io
import json
import os
import pty
import re
import shlex
import shutil
import sqlite3
import struct
import subprocess
import sys
import termios
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner, Result

import threadline as tl
from threadline import cli
from threadline.cli import app
from threadline.testing import EchoProvider

CLI = [sys.executable, "-m", "threadline.cli"]
TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


@pytest.fixture
def echo(monkeypatch: pytest.MonkeyPatch, store_url: str) -> EchoProvider:
    """The echo provider the CLI's manager uses, to inject faults."""
    provider = EchoProvider()
    factory = functools.partial(tl.SessionManager, providers=[provider])
    monkeypatch.setattr(cli, "SessionManager", factory)
    return provider


def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(app, list(args), input=input, env=env)
    assert "Traceback" not in result.output
    return result


def in_terminal(args: list[str], *, columns: int, env: dict[str, str] | None = None) -> str:
    """Run the real command with stdout on a pseudo-terminal ``columns`` wide; its
    output without colour codes or carriage returns."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    environ = {**os.environ, **(env or {}), "COLUMNS": str(columns), "TERM": "xterm"}
    proc = subprocess.Popen(
        [*CLI, *args], stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE, env=environ
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    return ANSI.sub("", b"".join(chunks).decode()).replace("\r", "")


def texts(session: tl.ConversationSession) -> list[str]:
    return [m.text for m in session.messages]


# -- show: whole text, wrapped only on a terminal ---------------------------------------

LONG = " ".join(f"word{i:03d}" for i in range(140))  # 1,119 characters


def test_show_prints_long_messages_whole_when_piped(manager: tl.SessionManager) -> None:
    system = " ".join(["Be terse."] * 30)
    session = manager.create(system=system, model="echo-" + "m" * 100)
    session.send(LONG)
    result = run("show", session.id)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == f"{session.id}  echo/echo-{'m' * 100}"
    assert f"  {LONG}" in lines
    assert f"  echo: {LONG}" in lines
    assert f"system: {system}" in lines


def test_show_wraps_long_messages_on_a_terminal(manager: tl.SessionManager) -> None:
    session = manager.create()
    session.send(LONG + "\nsecond line")
    out = in_terminal(["show", session.id], columns=60)
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 60
    body = lines[lines.index("user") + 1 : lines.index("assistant")]
    assert all(line.startswith("  ") for line in body if line)
    assert " ".join(line.strip() for line in body if line) == LONG + " second line"
    assert body[-2:] == ["  second line", ""]


# -- stores that cannot be opened ---------------------------------------------------------


@pytest.mark.parametrize("where", ["proc", "parent is a file"])
def test_a_store_folder_that_cannot_be_created_is_one_error_line(
    tmp_path: Path, where: str
) -> None:
    (tmp_path / "file").write_text("")
    path = "/proc/x/y.db" if where == "proc" else f"{tmp_path}/file/y.db"
    result = run("ls", "--store", f"sqlite:///{path}")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: cannot open SQLite store {path}: ")
    assert result.stderr.count("\n") == 1


@pytest.fixture
def no_store_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("THREADLINE_STORE", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)


def test_no_home_for_the_default_store_is_one_error_line(
    no_store_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """platformdirs cannot place the default file: one line that says what to do."""
    import platformdirs

    def no_home(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("could not determine the home directory")

    monkeypatch.setattr(platformdirs, "user_data_dir", no_home)
    result = run("ls")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: no place for the default store (could not determine the home directory);"
        " use --store URL or set THREADLINE_STORE\n"
    )


def test_a_relative_default_store_path_is_refused(
    no_store_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import platformdirs

    monkeypatch.setattr(platformdirs, "user_data_dir", lambda *a, **k: "~/.local/share/x")
    result = run("ls")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: no place for the default store (")
    assert result.stderr.count("\n") == 1


def test_an_unusable_home_for_the_default_store_is_one_error_line(
    no_store_env: None, tmp_path: Path
) -> None:
    """HOME is a file: the default folder cannot be made; the error says so and how to
    choose another store."""
    home = tmp_path / "home"
    home.write_text("")
    result = run("chat", "-m", "hi", env={"HOME": str(home)})
    assert result.exit_code == 1
    default = f"{home}/.local/share/threadline/sessions.db"
    assert result.stderr.startswith(f"error: cannot open SQLite store {default}: ")
    assert result.stderr.endswith(" (the default store; use --store URL or set THREADLINE_STORE)\n")
    assert result.stderr.count("\n") == 1


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv"
)
@pytest.mark.parametrize("home", [None, "/"])
def test_a_user_without_a_home_gets_one_error_line(home: str | None) -> None:
    """As a real user id with no passwd entry: no HOME at all, or an unwritable one."""
    env = {k: v for k, v in os.environ.items() if k not in ("HOME", "XDG_DATA_HOME")}
    env.pop("THREADLINE_STORE", None)
    if home is not None:
        env["HOME"] = home
    as_nobody = ["setpriv", "--reuid", "54321", "--regid", "54321", "--clear-groups"]
    proc = subprocess.run(
        [*as_nobody, *CLI, "ls"], capture_output=True, text=True, env=env, cwd="/", check=False
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.startswith("error: ")
    assert "use --store URL or set THREADLINE_STORE" in proc.stderr
    assert proc.stderr.count("\n") == 1


# -- read-only stores ---------------------------------------------------------------------


def test_a_read_only_store_can_be_listed_shown_and_exported(
    manager: tl.SessionManager, store_url: str
) -> None:
    session = manager.create(user="alice")
    session.send("kept")
    ro = store_url + "?mode=ro"
    listed = run("ls", "--store", ro)
    assert listed.exit_code == 0
    assert listed.stdout.splitlines()[1].split()[:3] == [session.id, "alice", "echo/echo-1"]
    shown = run("show", session.id, "--store", ro)
    assert shown.exit_code == 0
    assert "  echo: kept" in shown.stdout.splitlines()
    exported = run("export", session.id, "--store", ro)
    assert exported.exit_code == 0
    assert [m["parts"][0]["text"] for m in json.loads(exported.stdout)["messages"]] == [
        "kept",
        "echo: kept",
    ]
    as_json = run("ls", "--json", "--store", ro)
    assert [s["id"] for s in json.loads(as_json.stdout)["sessions"]] == [session.id]


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("chat", ["-m", "hi"]),
        ("chat", ["-c", "-m", "hi"]),
        ("rm", ["{id}", "--yes"]),
        ("fork", ["{id}"]),
        ("import", ["{file}"]),
        ("cleanup", []),
    ],
)
def test_writing_to_a_read_only_store_is_one_clear_error(
    manager: tl.SessionManager, store_url: str, tmp_path: Path, command: str, args: list[str]
) -> None:
    session = manager.create()
    session.send("kept")
    file = tmp_path / "doc.json"
    file.write_text(json.dumps(session.export()))
    filled = [a.format(id=session.id, file=file) for a in args]
    result = run(command, *filled, "--store", store_url + "?mode=ro")
    assert result.exit_code == 1
    path = store_url.removeprefix("sqlite:///")
    assert result.stderr == (
        f"error: the store {path} is read-only (opened with ?mode=ro, or not writable"
        f" by this user): `threadline {command}` cannot write to it\n"
    )
    assert result.stdout == ""
    assert [i.id for i in manager.list()] == [session.id]
    assert texts(manager.get(session.id)) == ["kept", "echo: kept"]


# -- rm of a damaged row ------------------------------------------------------------------


def test_rm_deletes_a_session_whose_record_is_damaged(
    manager: tl.SessionManager, store_url: str
) -> None:
    bad = manager.create(user="alice")
    bad.send("x")
    keep = manager.create(user="alice")
    path = store_url.removeprefix("sqlite:///")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("UPDATE sessions SET data = '{not json' WHERE id = ?", (bad.id,))
    db.close()
    other = run("rm", bad.id, "--user", "bob", "--yes")
    assert (other.exit_code, other.stderr) == (1, f"error: session {bad.id!r} not found\n")
    result = run("rm", bad.id, "--user", "alice", input="y\n")
    assert result.exit_code == 0, result.stderr
    assert f"Delete session {bad.id} (its stored record is damaged)? [y/N]" in result.stderr
    assert f"deleted {bad.id} (its stored record is damaged)" in result.stderr
    assert [i.id for i in manager.list()] == [keep.id]
    db = sqlite3.connect(path, isolation_level=None)
    count = db.execute("SELECT count(*) FROM messages WHERE session_id = ?", (bad.id,))
    assert count.fetchone()[0] == 0
    db.close()


# -- chat keeps no empty session ----------------------------------------------------------


@pytest.mark.parametrize("piped", ["", "\n  \n"])
def test_chat_with_nothing_to_send_keeps_no_session(manager: tl.SessionManager, piped: str) -> None:
    result = run("chat", input=piped)
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "nothing was said: session ses_" in result.stderr
    assert manager.list() == []


def test_chat_with_an_empty_message_is_an_error_and_keeps_no_session(
    manager: tl.SessionManager,
) -> None:
    result = run("chat", "-m", "   ")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == "error: nothing to send: the message is empty"
    assert manager.list() == []


def test_chat_whose_only_turn_failed_keeps_no_session(
    manager: tl.SessionManager, echo: EchoProvider
) -> None:
    echo.faults = [tl.AuthenticationError("bad key", provider="echo", status_code=401)]
    result = run("chat", "-m", "hi")
    assert result.exit_code == 1
    assert "error: echo 401: bad key" in result.stderr.splitlines()
    assert manager.list() == []


def test_chat_keeps_the_session_once_a_turn_succeeded(
    manager: tl.SessionManager, echo: EchoProvider
) -> None:
    echo.faults = [tl.AuthenticationError("bad key", provider="echo", status_code=401)]
    result = run("chat", input="first\nsecond\n")
    assert result.exit_code == 1
    (info,) = manager.list()
    assert texts(manager.get(info.id)) == ["second", "echo: second"]


def test_chat_interrupted_before_any_reply_keeps_no_session(
    manager: tl.SessionManager, echo: EchoProvider
) -> None:
    """Ctrl-C while waiting on the model: the turn is not saved, nor is the new session."""
    echo.faults = [KeyboardInterrupt()]  # type: ignore[list-item]
    result = run("chat", "-m", "hi")
    assert result.exit_code == 130
    assert "(interrupted: this turn was not saved)" in result.stderr
    assert "Aborted" not in result.output
    assert manager.list() == []
    echo.faults = [KeyboardInterrupt()]  # type: ignore[list-item]
    result = run("chat", input="hi\n")
    assert result.exit_code == 0
    assert manager.list() == []


def test_chat_never_deletes_a_continued_session(manager: tl.SessionManager) -> None:
    session = manager.create()
    result = run("chat", "--session", session.id, input="")
    assert result.exit_code == 0
    assert [i.id for i in manager.list()] == [session.id]


def test_continue_picks_the_latest_session_that_has_messages(
    manager: tl.SessionManager,
) -> None:
    used = manager.create()
    used.send("earlier")
    manager.create()  # newer, but empty
    result = run("chat", "-c", "-m", "again")
    assert result.exit_code == 0
    assert f"session {used.id}" in result.stderr
    assert texts(manager.get(used.id))[-2:] == ["again", "echo: again"]


def test_continue_with_only_empty_sessions_says_there_is_none(
    manager: tl.SessionManager,
) -> None:
    manager.create()
    result = run("chat", "-c", "-m", "hi")
    assert result.exit_code == 1
    assert result.stderr == "error: no session to continue; start one with `threadline chat`\n"


# -- slash commands, the same in every mode -----------------------------------------------


@pytest.mark.parametrize("command", ["/exit", "/quit", " /exit "])
def test_one_shot_exit_sends_nothing(
    manager: tl.SessionManager, echo: EchoProvider, command: str
) -> None:
    result = run("chat", "-m", command)
    assert (result.exit_code, result.stdout) == (0, "")
    assert echo.calls == 0
    assert manager.list() == []


def test_one_shot_help_lists_the_commands(manager: tl.SessionManager, echo: EchoProvider) -> None:
    result = run("chat", "-m", "/help")
    assert (result.exit_code, result.stdout, echo.calls) == (0, "", 0)
    assert "/exit or /quit: leave" in result.stderr
    assert "//text sends /text" in result.stderr


def test_an_unknown_command_is_an_error_and_is_not_sent(
    manager: tl.SessionManager, echo: EchoProvider
) -> None:
    result = run("chat", "-m", "/frobnicate now")
    assert (result.exit_code, result.stdout, echo.calls) == (1, "", 0)
    assert (
        "error: unknown command /frobnicate (/help lists the commands;"
        " //frobnicate sends /frobnicate to the model)"
    ) in result.stderr.splitlines()
    assert manager.list() == []


def test_a_double_slash_sends_the_text_with_one_slash(manager: tl.SessionManager) -> None:
    result = run("chat", "-m", "//frobnicate now")
    assert (result.exit_code, result.stdout) == (0, "echo: /frobnicate now\n")
    (info,) = manager.list()
    assert texts(manager.get(info.id))[0] == "/frobnicate now"


def test_piped_lines_handle_slash_commands_like_the_prompt(
    manager: tl.SessionManager, echo: EchoProvider
) -> None:
    piped = "hi\n/nope\n//x\n/usr/bin is a path\n/help\n/quit\nnever sent\n"
    result = run("chat", input=piped)
    assert result.exit_code == 1  # the unknown command
    assert result.stdout == "echo: hi\necho: /x\necho: /usr/bin is a path\n"
    assert "error: unknown command /nope" in result.stderr
    assert "/exit or /quit: leave" in result.stderr
    (info,) = manager.list()
    assert texts(manager.get(info.id)) == [
        "hi",
        "echo: hi",
        "/x",
        "echo: /x",
        "/usr/bin is a path",
        "echo: /usr/bin is a path",
    ]
    assert echo.calls == 3


# -- Ctrl-C in the middle of a reply ------------------------------------------------------


@pytest.fixture
def ctrl_c_on_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C arrives while the word "stop" of a reply is being printed."""
    echo_out = typer.echo

    def interrupted(message: Any = None, *args: Any, **kwargs: Any) -> None:
        if message == " stop":
            raise KeyboardInterrupt
        echo_out(message, *args, **kwargs)

    monkeypatch.setattr(typer, "echo", interrupted)


def test_ctrl_c_mid_reply_skips_that_turn_and_keeps_chatting(
    manager: tl.SessionManager, ctrl_c_on_stop: None
) -> None:
    result = run("chat", input="stop now\nnext\n")
    assert result.exit_code == 0
    assert result.stdout == "echo:\necho: next\n"
    assert "(interrupted: this turn was not saved)" in result.stderr
    (info,) = manager.list()
    assert texts(manager.get(info.id)) == ["next", "echo: next"]


def test_ctrl_c_mid_reply_in_one_shot_mode_exits_130(
    manager: tl.SessionManager, ctrl_c_on_stop: None
) -> None:
    session = manager.create()
    session.send("before")
    result = run("chat", "--session", session.id, "-m", "stop now")
    assert result.exit_code == 130
    assert "(interrupted: this turn was not saved)" in result.stderr
    assert texts(manager.get(session.id)) == ["before", "echo: before"]
    assert run("chat", "--session", session.id, "-m", "after").stdout == "echo: after\n"


# -- help ---------------------------------------------------------------------------------

COMMANDS = ["chat", "ls", "show", "rm", "export", "import", "fork", "cleanup"]


@pytest.mark.parametrize("command", [None, *COMMANDS, "migrate-v1", "migrate-store"])
def test_help_has_no_type_noise(command: str | None) -> None:
    args = ["--help"] if command is None else [command, "--help"]
    result = run(*args, env={"COLUMNS": "120"})
    assert result.exit_code == 0
    assert re.findall(r"<\w+>", result.stdout) == []


def test_chat_help_names_what_each_option_takes() -> None:
    out = run("chat", "--help", env={"COLUMNS": "120"}).stdout
    rows = {line.split()[1]: line.split()[1:] for line in out.splitlines() if "│ --" in line}
    assert rows["--continue"][:3] == ["--continue", "-c", "Continue"]
    assert rows["--session"][:3] == ["--session", "-s", "ID"]
    assert rows["--message"][:3] == ["--message", "-m", "TEXT"]
    assert rows["--provider"][:2] == ["--provider", "PROVIDER"]
    assert rows["--system"][:2] == ["--system", "TEXT"]
    assert rows["--store"][:2] == ["--store", "URL"]
    assert rows["--help"][:2] == ["--help", "Show"]
    show = run("show", "--help", env={"COLUMNS": "120"}).stdout
    assert "Usage: threadline show [OPTIONS] {SESSION_ID}" in show
    assert "│ *    SESSION_ID        Session id" in show


# -- ls: narrow terminals, paging, --json ---------------------------------------------------


@pytest.fixture
def varied(manager: tl.SessionManager) -> list[tl.ConversationSession]:
    """Sessions with owners, a long model name and different counts."""
    long_model = manager.create(user="alice-with-a-long-name", model="echo-model-" + "x" * 40)
    long_model.send("hi")
    plain = manager.create(user="bob")
    plain.send("one")
    plain.send("two")
    plain.archive()
    return [plain, long_model]


def test_ls_in_a_narrow_terminal_keeps_every_field(
    varied: list[tl.ConversationSession], store_url: str
) -> None:
    out = in_terminal(["ls"], columns=60)
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 60
    for session in varied:
        assert session.id in [line.strip() for line in lines]  # alone on its line, whole
        first = lines.index(session.id)
        end = next((i for i in range(first + 1, len(lines)) if lines[i][:1] != " "), len(lines))
        record = " ".join(line.strip() for line in lines[first + 1 : end])
        assert f"{session.provider}/" in record
        assert session.status.value in record
        assert f"{len(session.messages)} messages" in record
        assert f"user {session.user}" in record
        assert len(TIME.findall(record)) == 1
    long_model = varied[1]
    folded = "".join(line.strip() for line in out.splitlines())
    assert f"echo/{long_model.model}" in folded


def test_ls_in_an_80_column_terminal_is_a_table(manager: tl.SessionManager) -> None:
    sessions = [manager.create() for _ in range(2)]
    sessions[0].send("hi")
    lines = in_terminal(["ls"], columns=80).splitlines()
    # "messages" is shortened to "msgs" so that nothing has to fold.
    assert lines[0].split() == ["id", "provider/model", "status", "msgs", "updated"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:] if line.strip()}
    assert rows[sessions[0].id][:3] == ["echo/echo-1", "active", "2"]
    assert TIME.fullmatch(" ".join(rows[sessions[0].id][3:]))
    assert len(lines) == 3
    assert max(len(line) for line in lines) <= 80
    wide = in_terminal(["ls"], columns=120).splitlines()
    assert wide[0].split() == ["id", "provider/model", "status", "messages", "updated"]


def test_ls_in_a_wide_terminal_folds_only_provider_and_user(
    varied: list[tl.ConversationSession],
) -> None:
    lines = in_terminal(["ls"], columns=100).splitlines()
    assert lines[0].split() == ["id", "user", "provider/model", "status", "msgs", "updated"]
    assert max(len(line) for line in lines) <= 100
    for session in varied:
        (row,) = [line for line in lines if line.startswith(session.id)]
        assert session.status.value in row.split()
        assert len(TIME.findall(row)) == 1


def test_ls_next_page_hint_repeats_the_options(
    manager: tl.SessionManager, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("THREADLINE_STORE")
    ids = [manager.create(user="alice").id for _ in range(3)]
    manager.create(user="bob")
    options = ["--user", "alice", "--status", "active", "--provider", "echo", "--limit", "2"]
    result = run("ls", *options, "--store", store_url)
    assert list(line.split()[0] for line in result.stdout.splitlines()[1:]) == ids[:0:-1]
    hint = result.stderr.strip()
    cursor = hint.rsplit(" ", 1)[1]
    assert hint == (
        "more: threadline ls --user alice --status active --provider echo --limit 2"
        f" --store {shlex.quote(store_url)} --cursor {cursor}"
    )
    rest = run(*shlex.split(hint.removeprefix("more: threadline ")))
    assert [line.split()[0] for line in rest.stdout.splitlines()[1:]] == [ids[0]]
    assert rest.stderr == ""


def test_ls_json_lists_session_infos_and_the_next_cursor(manager: tl.SessionManager) -> None:
    first = manager.create(user="alice", metadata={"team": "a"})
    first.send("hi")
    second = manager.create()
    page = json.loads(run("ls", "--json", "--limit", "1").stdout)
    assert [s["id"] for s in page["sessions"]] == [second.id]
    assert isinstance(page["next_cursor"], str)
    rest = run("ls", "--json", "--limit", "1", "--cursor", page["next_cursor"])
    assert rest.stderr == ""
    (info,) = json.loads(rest.stdout)["sessions"]
    assert json.loads(rest.stdout)["next_cursor"] is None
    assert info["id"] == first.id
    assert info["user"] == "alice"
    assert (info["provider"], info["model"], info["status"]) == ("echo", "echo-1", "active")
    assert info["message_count"] == 2
    assert info["metadata"] == {"team": "a"}
    assert datetime.fromisoformat(info["updated_at"]) == manager.get(first.id).updated_at


def test_ls_json_on_an_empty_store(store_url: str) -> None:
    result = run("ls", "--json")
    assert (result.exit_code, result.stderr) == (0, "")
    assert json.loads(result.stdout) == {"sessions": [], "next_cursor": None}


def test_show_json_is_the_export_document(manager: tl.SessionManager) -> None:
    session = manager.create(user="alice", system="Be terse.")
    session.send("hello")
    result = run("show", session.id, "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["format_version"] == 1
    assert document["session"]["id"] == session.id
    assert document["session"]["system"] == "Be terse."
    assert document["session"]["status"] == "active"
    assert [m["parts"][0]["text"] for m in document["messages"]] == ["hello", "echo: hello"]
    copy = run("import", "-", input=result.stdout)
    assert texts(manager.get(copy.stdout.strip())) == ["hello", "echo: hello"]


# -- progress and retry notices ---------------------------------------------------------


def expire_three(manager: tl.SessionManager, move_clock: Any) -> None:
    for _ in range(3):
        manager.create(ttl=timedelta(hours=1)).send("server-side state too")
    move_clock(timedelta(hours=2))


def test_cleanup_shows_progress_on_a_terminal(
    manager: tl.SessionManager, move_clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    expire_three(manager, move_clock)
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=80, highlight=False, markup=False)
    monkeypatch.setattr(cli, "stderr", console)
    result = run("cleanup")
    assert result.exit_code == 0
    shown = ANSI.sub("", screen.getvalue())
    assert "removing expired sessions" in shown
    assert "3/3" in shown
    assert shown.rstrip().endswith("removed 3 expired sessions")
    assert manager.list(status="expired") == []


def test_cleanup_shows_no_progress_when_piped(manager: tl.SessionManager, move_clock: Any) -> None:
    expire_three(manager, move_clock)
    result = run("cleanup")
    assert (result.exit_code, result.stderr) == (0, "removed 3 expired sessions\n")


def test_chat_says_when_it_waits_to_retry(
    manager: tl.SessionManager, echo: EchoProvider, no_sleep: list[float]
) -> None:
    echo.faults = [
        tl.RateLimitError("slow down", provider="echo", retryable=True, retry_after=2),
        None,
    ]
    result = run("chat", "-m", "hi")
    assert (result.exit_code, result.stdout) == (0, "echo: hi\n")
    assert no_sleep == [2.0]
    lines = result.stderr.splitlines()
    assert lines[1:] == ["(the model call failed: rate_limited; retrying in 2.0s)"]


def test_retry_notices_leave_the_threadline_logger_as_it_was(
    manager: tl.SessionManager, echo: EchoProvider, no_sleep: list[float]
) -> None:
    import logging

    logger = logging.getLogger("threadline")
    before = (logger.level, list(logger.handlers))
    echo.faults = [tl.RateLimitError("slow", provider="echo", retryable=True, retry_after=0)]
    assert run("chat", "-m", "hi").exit_code == 0
    assert (logger.level, list(logger.handlers)) == before
