"""``threadline migrate-v1`` on a v1 database written by the shim's own v1 storage:
every session checked after the move, the source untouched, reruns adding nothing."""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import threadline as tl
from threadline._migrate_v1 import migrate_v1
from threadline.cli import app
from threadline_v1 import (
    LangSwarmSession,
    MessageRole,
    SessionControl,
    SessionStatus,
    SQLiteSessionStorage,
)
from threadline_v1.convert import threadline_id, to_v1_session

PROVIDERS = ["openai", "claude", "gemini", "mistral", "cohere", "gpt", "test"]
MAPPED = {"claude": "anthropic", "gemini": "google", "gpt": "openai"}
STATUSES = list(SessionStatus)
TEXTS = ["Hello", "Grüße aus Köln 👋", "日本語のテキスト", "שלום עולם", "line one\nline two", ""]
T0 = datetime(2025, 3, 1, 8, 0, 0)


@dataclass
class V1File:
    path: Path
    sessions: dict[str, LangSwarmSession]
    """Every session the migration should move, by v1 id."""
    bad: dict[str, str]
    """Sessions it cannot move, by v1 id, with a word the reason must contain."""


def call(call_id: str, name: str, arguments: str) -> dict[str, object]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def conversation(s: LangSwarmSession, i: int) -> None:
    """A few turns, with tool calls in every shape v1 code wrote."""
    when = T0 + timedelta(days=i)

    def add(content: str, role: MessageRole, **extra: object) -> None:
        nonlocal when
        when += timedelta(seconds=1)
        s.add_message(content, role, timestamp=when, **extra)

    if i % 4 == 0:
        add("You are a helpful assistant.", MessageRole.SYSTEM)
    if i % 8 == 0:
        add("Answer in English.", MessageRole.SYSTEM)
    add(TEXTS[i % len(TEXTS)] or "(empty follows)", MessageRole.USER)
    add(f"Reply {i}: {TEXTS[(i + 1) % len(TEXTS)]}", MessageRole.ASSISTANT)
    if i % 3 == 0:  # OpenAI-format call, answered
        add("", MessageRole.ASSISTANT, tool_calls=[call(f"call_{i}", "lookup", '{"q": "x"}')])
        add('{"result": 42}', MessageRole.TOOL, tool_call_id=f"call_{i}")
        add("It is 42.", MessageRole.ASSISTANT)
    if i % 5 == 0:  # flat call, answered by a legacy "function" message without an id
        add("Checking", MessageRole.ASSISTANT, tool_calls=[{"name": "clock", "arguments": {}}])
        add("12:00", MessageRole.FUNCTION)
    if i % 7 == 0:  # a call never answered, then the user moves on
        add("", MessageRole.ASSISTANT, tool_calls=[call(f"lost_{i}", "search", "not json")])
        add("Never mind", MessageRole.USER)
    if i % 11 == 0:  # a result for no call at all
        add("stray output", MessageRole.TOOL, tool_call_id="nobody")
    if i % 6 == 0:
        add("A mid-conversation instruction.", MessageRole.SYSTEM)
    if i % 2 == 0:
        add(TEXTS[(i + 2) % len(TEXTS)], MessageRole.USER)


@pytest.fixture
def v1_file(tmp_path: Path) -> V1File:
    path = tmp_path / "langswarm_sessions.db"
    storage = SQLiteSessionStorage(path)
    sessions: dict[str, LangSwarmSession] = {}
    users = ["alice", "bob", "carol@example.com", "dave", ""]
    for i in range(36):
        provider = PROVIDERS[i % len(PROVIDERS)]
        s = LangSwarmSession(
            users[i % len(users)],
            f"session_{i:04d}" if i != 5 else "team chat #5/2025",
            provider=provider,
            model=f"{provider}-model-{i % 3}",
            session_control=list(SessionControl)[i % 3],
            tags=[f"tag{i % 4}"] if i % 2 else [],
            custom_metadata={"ticket": str(1000 + i), "nested": {"n": i}} if i % 3 else {},
            provider_thread_id=f"thread_{i}" if provider == "openai" else None,
        )
        s.metadata.created_at = T0 + timedelta(days=i)
        if i % 9 != 1:  # every ninth session (from the second) stays empty
            conversation(s, i)
        s.metadata.status = STATUSES[i % len(STATUSES)]
        s.metadata.total_tokens = 17 * i
        s.metadata.updated_at = T0 + timedelta(days=i, hours=1)
        assert storage.save_session(s)
        sessions[s.session_id] = s
    owner = LangSwarmSession("John Doe", "bad_owner", provider="openai")
    owner.add_message("hi", MessageRole.USER)
    storage.save_session(owner)
    broken = LangSwarmSession("alice", "broken_row")
    storage.save_session(broken)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE sessions SET history = '{oops' WHERE session_id = 'broken_row'")
    conn.close()
    return V1File(path, sessions, {"bad_owner": "user", "broken_row": "JSON"})


def digest(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.iterdir()}


def answered(messages: list[tl.Message]) -> bool:
    """Each tool call is answered before the next message that is not a tool result."""
    pending: set[str] = set()
    for message in messages:
        results = {p.call_id for p in message.parts if isinstance(p, tl.ToolResult)}
        if message.role == "tool":
            if not results <= pending:
                return False
            pending -= results
            continue
        if pending:
            return False
        pending = {c.call_id for c in message.tool_calls}
    return True


def check_session(manager: tl.SessionManager, original: LangSwarmSession) -> None:
    meta = original.metadata
    thread = manager.get(threadline_id(meta.session_id))
    assert thread.user == (meta.user_id or None)
    assert thread.provider == MAPPED.get(meta.provider, meta.provider)
    assert thread.model == meta.model
    expected_status = {
        SessionStatus.ACTIVE: "active",
        SessionStatus.INACTIVE: "paused",
        SessionStatus.ARCHIVED: "archived",
        SessionStatus.EXPIRED: "archived",
    }[meta.status]
    assert thread.status.value == expected_status
    systems = []
    for m in original.history.messages:
        if m.role is not MessageRole.SYSTEM:
            break
        systems.append(m.content)
    assert thread.system == ("\n\n".join(systems) if systems else None)
    assert thread.usage.total_tokens == meta.total_tokens
    for key, value in meta.custom_metadata.items():
        assert thread.metadata[key] == value
    assert thread.metadata["tags"] == meta.tags
    assert answered(thread.messages)
    texts = [
        m.text or "".join(p.output_text() for p in m.parts if isinstance(p, tl.ToolResult))
        for m in thread.messages
        if not m.metadata.get("langswarm_v1", {}).get("synthetic")
    ]
    assert texts == [m.content for m in original.history.messages[len(systems) :]]
    # Converted back, it is the v1 session that was written, to the byte.
    assert to_v1_session(thread).to_dict() == original.to_dict()


def test_every_session_moves_and_the_source_is_untouched(v1_file: V1File, tmp_path: Path) -> None:
    before = digest(v1_file.path.parent)
    store = f"sqlite:///{tmp_path / 'threadline.db'}"
    seen: list[tuple[int, int]] = []
    summary = migrate_v1(
        v1_file.path, store, progress=lambda done, total: seen.append((done, total))
    )
    assert summary.total == 38 and seen[-1] == (38, 38) and len(seen) == 38
    assert len(summary.migrated) == 36 and summary.already_present == []
    assert {p.session_id: p.reason for p in summary.failed}.keys() == v1_file.bad.keys()
    for problem in summary.failed:
        assert v1_file.bad[problem.session_id] in problem.reason
    assert summary.renamed == {"team chat #5/2025": threadline_id("team chat #5/2025")}
    assert any("no result in v1" in n.reason for n in summary.notes)
    assert any("no call to answer" in n.reason for n in summary.notes)
    after = {k: v for k, v in digest(v1_file.path.parent).items() if k == v1_file.path.name}
    assert after == {v1_file.path.name: before[v1_file.path.name]}
    assert not list(v1_file.path.parent.glob("langswarm_sessions.db-*"))  # no journal left

    with tl.SessionManager(store) as manager:
        assert len(manager.list(limit=1000)) == 36
        for original in v1_file.sessions.values():
            check_session(manager, original)
        assert manager.list(user="alice", limit=1000)  # owners are enforced by threadline
        versions = {i.id: manager.get(i.id).version for i in manager.list(limit=1000)}

    again = migrate_v1(v1_file.path, store)
    assert again.migrated == [] and len(again.already_present) == 36
    with tl.SessionManager(store) as manager:
        assert {i.id: manager.get(i.id).version for i in manager.list(limit=1000)} == versions
    assert digest(v1_file.path.parent)[v1_file.path.name] == before[v1_file.path.name]


def test_moved_sessions_work_in_threadline(v1_file: V1File, tmp_path: Path) -> None:
    """Read, continue on an adapter threadline has, fork what it lacks elsewhere."""
    store = f"sqlite:///{tmp_path / 'threadline.db'}"
    migrate_v1(v1_file.path, store)
    with tl.SessionManager(store) as manager:
        mistral = manager.get("session_0024")
        assert mistral.provider == "mistral" and mistral.status is tl.SessionStatus.ACTIVE
        with pytest.raises(tl.ConfigurationError, match="mistral"):
            mistral.send("continue")
        child = mistral.fork(provider="echo")
        assert child.send("continue").text == "echo: continue"
        assert child.messages[: len(mistral.messages)] == mistral.messages
        paused = manager.get("session_0001")
        assert paused.status is tl.SessionStatus.PAUSED
        paused.resume()
        exported = paused.export()
        assert exported["session"]["metadata"]["langswarm_v1"]["session_id"] == "session_0001"


def test_dry_run_writes_nothing(
    v1_file: V1File, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "not-yet.db"
    summary = migrate_v1(v1_file.path, f"sqlite:///{target}", dry_run=True)
    assert summary.dry_run and len(summary.migrated) == 36 and len(summary.failed) == 2
    assert not target.exists()
    default = tmp_path / "default.db"
    monkeypatch.setenv("THREADLINE_STORE", f"sqlite:///{default}")
    assert migrate_v1(v1_file.path, dry_run=True).store == f"sqlite:///{default}"
    assert not default.exists()
    existing = f"sqlite:///{tmp_path / 'existing.db'}"
    migrate_v1(v1_file.path, existing)
    rerun = migrate_v1(v1_file.path, existing, dry_run=True)
    assert rerun.migrated == [] and len(rerun.already_present) == 36


def test_an_interrupted_run_resumes(v1_file: V1File, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'threadline.db'}"

    def stop_after_ten(done: int, total: int) -> None:
        if done == 10:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        migrate_v1(v1_file.path, store, progress=stop_after_ten)
    with tl.SessionManager(store) as manager:
        first = {i.id for i in manager.list(limit=1000)}
    resumed = migrate_v1(v1_file.path, store)
    assert set(resumed.already_present) == first and len(first) >= 9
    assert len(resumed.migrated) + len(first) == 36


def test_a_taken_id_is_reported_not_overwritten(v1_file: V1File, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'threadline.db'}"
    with tl.SessionManager(store) as manager:
        manager.create(session_id="session_0002", user="zoe")
    summary = migrate_v1(v1_file.path, store)
    reasons = {p.session_id: p.reason for p in summary.failed}
    assert "another session" in reasons["session_0002"]
    with tl.SessionManager(store) as manager:
        assert manager.get("session_0002").user == "zoe"


def test_logs_name_counts_and_never_content(
    v1_file: V1File, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    migrate_v1(v1_file.path, f"sqlite:///{tmp_path / 't.db'}")
    assert "36 migrated" in caplog.text
    for text in ("Grüße", "日本語", "helpful assistant", "It is 42"):
        assert text not in caplog.text


def run(*args: str) -> Result:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output
    return result


def test_cli_migrates_with_a_summary_and_reports_failures(v1_file: V1File, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'cli.db'}"
    result = run("migrate-v1", str(v1_file.path), "--store", store)
    assert result.exit_code == 1  # two sessions could not be moved
    assert result.stdout == ""
    assert "migrated 36 of 38 sessions" in result.stderr
    assert "could not migrate 2:" in result.stderr and "broken_row: " in result.stderr
    assert "renamed: 'team chat #5/2025'" in result.stderr

    again = run("migrate-v1", str(v1_file.path), "--store", store, "--json")
    data = json.loads(again.stdout)
    assert data["migrated"] == [] and len(data["already_present"]) == 36
    assert [f["session_id"] for f in data["failed"]] == ["bad_owner", "broken_row"]

    dry = run("migrate-v1", str(v1_file.path), "--store", store, "--dry-run")
    assert "would migrate 0 of 38" in dry.stderr


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    missing = run("migrate-v1", str(tmp_path / "nope.db"), "--store", "memory://")
    assert (
        missing.exit_code == 1
        and missing.stderr.strip() == f"error: {tmp_path / 'nope.db'}: no such file"
    )
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (x)")
    conn.close()
    wrong = run("migrate-v1", str(other), "--store", "memory://")
    assert wrong.exit_code == 1 and "not a LangSwarm v1 session database" in wrong.stderr
    text = tmp_path / "text.db"
    text.write_text("hello")
    assert "not a SQLite database" in run("migrate-v1", str(text), "--store", "memory://").stderr
    zone = run("migrate-v1", str(other), "--timezone", "Mars/Base", "--store", "memory://")
    assert zone.exit_code == 1 and "unknown time zone" in zone.stderr
    clean = tmp_path / "clean.db"
    SQLiteSessionStorage(clean)
    ok = run("migrate-v1", str(clean), "--store", "memory://", "--timezone", "UTC")
    assert ok.exit_code == 0 and "migrated 0 of 0 sessions" in ok.stderr
