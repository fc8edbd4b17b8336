"""``threadline migrate-store``: every session copied whole, between any two stores,
idempotently and resumably, with conflicts reported rather than overwritten.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from _backends import make_sync_store
from typer.testing import CliRunner

from threadline._migrate_store import migrate_store
from threadline._records import NativeState, SessionRecord
from threadline.cli import app
from threadline.messages import Checkpoint, Message, SessionStatus, Usage, utcnow
from threadline.stores.base import SessionQuery

EPOCH_READ = {"user": None, "now": utcnow() - timedelta(days=365 * 50)}


def seed(store: Any) -> dict[str, tuple[SessionRecord, list[Message]]]:
    """Sessions that exercise every field: owners, statuses, expiry (one expired),
    checkpoints, usage, a server-side handle, metadata, a parent."""
    now = utcnow()
    sessions = {
        "ses_ann": (
            SessionRecord(
                id="ses_ann",
                user="ann",
                provider="openai",
                model="gpt-x",
                system="be brief",
                version=7,
                created_at=now - timedelta(hours=3),
                updated_at=now - timedelta(hours=1),
                native=NativeState(provider="openai", handle="conv_123", synced_count=4),
                usage=Usage(input_tokens=40, output_tokens=12),
                checkpoints=[Checkpoint(label="start", message_count=2)],
                metadata={"topic": "maps", "n": [1, 2]},
                message_count=4,
            ),
            [
                Message.user("q1"),
                Message.assistant("a1"),
                Message.user("q2"),
                Message.assistant("a2"),
            ],
        ),
        "ses_bob_done": (
            SessionRecord(
                id="ses_bob_done",
                user="bob",
                provider="echo",
                model="echo-1",
                status=SessionStatus.COMPLETED,
                created_at=now - timedelta(hours=2),
                updated_at=now - timedelta(hours=2),
                parent_id="ses_ann",
                message_count=1,
            ),
            [Message.user("only")],
        ),
        "ses_expired": (
            SessionRecord(
                id="ses_expired",
                provider="echo",
                model="echo-1",
                created_at=now - timedelta(hours=5),
                updated_at=now - timedelta(hours=5),
                expires_at=now - timedelta(hours=4),
                ttl_seconds=3600,
            ),
            [],
        ),
    }
    for record, messages in sessions.values():
        store.create(record, messages)
    return sessions


def assert_same(target: Any, sessions: dict[str, tuple[SessionRecord, list[Message]]]) -> None:
    for session_id, (record, messages) in sessions.items():
        assert target.get(session_id, **EPOCH_READ) == record
        assert target.read_messages(session_id) == messages


PAIRS = [("sqlite", "postgres"), ("postgres", "redis"), ("redis", "sqlite"), ("memory", "redis")]


@pytest.fixture(params=PAIRS, ids=["-".join(p) for p in PAIRS])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    made = []
    for side, backend in zip(("src", "dst"), request.param, strict=True):
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path / (side + '.db')}"
        elif backend == "memory":
            url = "memory://"
        else:
            url = request.getfixturevalue(f"{backend}_url")
            if side == "dst" and request.param[0] == backend:  # pragma: no cover
                raise AssertionError("pairs use two backends")
        made.append(make_sync_store(backend, url))
    yield made
    for store in made:
        store.close()


def test_every_session_is_copied_whole_then_skipped_then_updated(stores: Any) -> None:
    source, target = stores
    sessions = seed(source)
    seen: list[tuple[int, int]] = []
    summary = migrate_store(source, target, progress=lambda d, t: seen.append((d, t)))
    assert (summary.total, summary.copied, summary.messages) == (3, 3, 5)
    assert seen[0] == (0, 3) and seen[-1] == (3, 3)
    assert_same(target, sessions)
    now = utcnow()
    assert [r.id for r in target.list_sessions(SessionQuery(now=now, user="ann"))] == ["ses_ann"]
    expired = target.list_sessions(SessionQuery(now=now, status=SessionStatus.EXPIRED))
    assert [r.id for r in expired] == ["ses_expired"]

    again = migrate_store(source, target)
    assert (again.copied, again.updated, again.identical, again.messages) == (0, 0, 3, 0)

    record, messages = sessions["ses_ann"]
    turn = [Message.user("q3"), Message.assistant("a3")]
    newer = record.model_copy(update={"version": 8, "message_count": 6})
    source.commit(newer, expected_version=7, append=turn)
    sessions["ses_ann"] = (newer, messages + turn)
    moved = migrate_store(source, target)
    assert (moved.updated, moved.identical, moved.messages) == (1, 2, 6)
    assert_same(target, sessions)


def test_a_dry_run_writes_nothing_and_counts_what_would_be(stores: Any) -> None:
    source, target = stores
    seed(source)
    summary = migrate_store(source, target, dry_run=True)
    assert (summary.dry_run, summary.copied, summary.messages) == (True, 3, 5)
    assert target.list_sessions(SessionQuery(now=utcnow())) == []
    assert "would copy 3" in summary.describe()


def test_an_interrupted_run_resumes_where_it_stopped(stores: Any) -> None:
    source, target = stores
    sessions = seed(source)

    def stop_after_one(done: int, total: int) -> None:
        if done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        migrate_store(source, target, progress=stop_after_one)
    resumed = migrate_store(source, target)
    assert (resumed.identical, resumed.copied) == (1, 2)
    assert_same(target, sessions)


def test_a_different_session_with_the_same_id_is_a_conflict_left_alone(stores: Any) -> None:
    source, target = stores
    seed(source)
    squatter = SessionRecord(id="ses_ann", user="carl", provider="echo", model="echo-1")
    target.create(squatter, [Message.user("mine")])
    summary = migrate_store(source, target)
    assert summary.conflicts == ["ses_ann"] and summary.copied == 2
    assert target.get("ses_ann", **EPOCH_READ) == squatter
    assert [m.text for m in target.read_messages("ses_ann")] == ["mine"]


def test_the_command_copies_reports_and_refuses_one_store_as_both(tmp_path: Path) -> None:
    src_url, dst_url = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    source = make_sync_store("sqlite", src_url)
    sessions = seed(source)
    source.close()
    runner = CliRunner()
    dry = runner.invoke(app, ["migrate-store", src_url, dst_url, "--dry-run"])
    assert dry.exit_code == 0 and "would copy 3" in dry.output
    done = runner.invoke(app, ["migrate-store", src_url, dst_url, "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {
        "dry_run": False,
        "total": 3,
        "copied": 3,
        "updated": 0,
        "identical": 0,
        "vanished": 0,
        "messages": 5,
        "conflicts": [],
    }
    target = make_sync_store("sqlite", dst_url)
    assert_same(target, sessions)
    target.close()
    again = runner.invoke(app, ["migrate-store", src_url, dst_url])
    assert again.exit_code == 0 and "3 already identical" in again.output
    same = runner.invoke(app, ["migrate-store", src_url, src_url])
    assert same.exit_code == 1 and "the same store" in same.output
    assert "Traceback" not in same.output
