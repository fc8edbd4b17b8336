"""Every cell of the lifecycle table of DESIGN.md, allowed and refused, sync and async."""

from __future__ import annotations

import pytest

import threadline as tl
from threadline._lifecycle import TRANSITIONS

S = tl.SessionStatus
OPERATIONS = ["pause", "resume", "complete", "fail", "cancel", "archive", "reactivate"]
STATUSES = [S.ACTIVE, S.PAUSED, S.COMPLETED, S.FAILED, S.CANCELLED, S.ARCHIVED]

# The contract, written out independently of the implementation's table.
EXPECTED = {
    (S.ACTIVE, "pause"): S.PAUSED,
    (S.ACTIVE, "complete"): S.COMPLETED,
    (S.ACTIVE, "fail"): S.FAILED,
    (S.ACTIVE, "cancel"): S.CANCELLED,
    (S.ACTIVE, "archive"): S.ARCHIVED,
    (S.PAUSED, "resume"): S.ACTIVE,
    (S.PAUSED, "complete"): S.COMPLETED,
    (S.PAUSED, "cancel"): S.CANCELLED,
    (S.PAUSED, "archive"): S.ARCHIVED,
    (S.FAILED, "resume"): S.ACTIVE,
    (S.FAILED, "cancel"): S.CANCELLED,
    (S.FAILED, "archive"): S.ARCHIVED,
    (S.COMPLETED, "archive"): S.ARCHIVED,
    (S.CANCELLED, "archive"): S.ARCHIVED,
    (S.ARCHIVED, "reactivate"): S.ACTIVE,
}

# One way to reach each status from a new (active) session.
PATH = {
    S.ACTIVE: [],
    S.PAUSED: ["pause"],
    S.COMPLETED: ["complete"],
    S.FAILED: ["fail"],
    S.CANCELLED: ["cancel"],
    S.ARCHIVED: ["archive"],
}


def test_table_matches_contract() -> None:
    assert TRANSITIONS == EXPECTED


def _call(session: tl.ConversationSession, op: str) -> None:
    if op == "fail":
        session.fail("agent gave up")
    else:
        getattr(session, op)()


@pytest.mark.parametrize("status", STATUSES, ids=str)
@pytest.mark.parametrize("op", OPERATIONS)
def test_transition_sync(manager: tl.SessionManager, status: S, op: str) -> None:
    s = manager.create()
    for step in PATH[status]:
        _call(s, step)
    assert s.status is status
    version = s.version
    target = EXPECTED.get((status, op))
    if target is None:
        with pytest.raises(tl.InvalidTransitionError, match=f"cannot {op} ") as info:
            _call(s, op)
        assert (info.value.status, info.value.operation) == (status.value, op)
        assert s.status is status
        assert s.version == version
    else:
        _call(s, op)
        assert s.status is target
        assert s.version == version + 1
        assert manager.get(s.id).status is target


@pytest.mark.parametrize("status", STATUSES, ids=str)
@pytest.mark.parametrize("op", OPERATIONS)
async def test_transition_async(amanager: tl.AsyncSessionManager, status: S, op: str) -> None:
    s = await amanager.create()
    for step in PATH[status]:
        await (s.fail("x") if step == "fail" else getattr(s, step)())
    target = EXPECTED.get((status, op))
    call = s.fail("why") if op == "fail" else getattr(s, op)()
    if target is None:
        with pytest.raises(
            tl.InvalidTransitionError, match=f"cannot {op} .*: it is {status.value}"
        ):
            await call
        assert s.status is status
    else:
        await call
        assert (await amanager.get(s.id)).status is target


@pytest.mark.parametrize("status", [s for s in STATUSES if s is not S.ACTIVE], ids=str)
def test_send_and_stream_only_when_active(manager: tl.SessionManager, status: S) -> None:
    s = manager.create()
    for step in PATH[status]:
        _call(s, step)
    with pytest.raises(tl.InvalidTransitionError, match=f"cannot send .*: it is {status.value}"):
        s.send("hi")
    with pytest.raises(tl.InvalidTransitionError, match=f"cannot stream .*: it is {status.value}"):
        list(s.stream("hi"))
    assert s.messages == []


@pytest.mark.parametrize("status", STATUSES, ids=str)
def test_reading_works_in_every_status(manager: tl.SessionManager, status: S) -> None:
    s = manager.create(user="u")
    s.send("before")
    for step in PATH[status]:
        _call(s, step)
    assert len(manager.get(s.id, user="u").messages) == 2
    assert [i.status for i in manager.list(user="u")] == [status]
    assert s.export()["session"]["status"] == status.value
    child = s.fork()
    assert child.status is S.ACTIVE
    assert len(child.messages) == 2


def test_fail_records_reason_and_resume_clears_it(manager: tl.SessionManager) -> None:
    s = manager.create()
    s.fail("the agent gave up")
    assert s.status_reason == "the agent gave up"
    assert manager.get(s.id).status_reason == "the agent gave up"
    s.resume()
    assert s.status_reason is None
    assert s.send("back").text == "echo: back"


@pytest.mark.parametrize("status", STATUSES, ids=str)
def test_restore_only_while_the_session_can_continue(manager: tl.SessionManager, status: S) -> None:
    s = manager.create()
    cp = s.checkpoint("start")
    s.send("later")
    for step in PATH[status]:
        _call(s, step)
    if status in (S.ACTIVE, S.PAUSED, S.FAILED):
        s.restore(cp)
        assert s.messages == []
    else:
        with pytest.raises(
            tl.InvalidTransitionError, match=f"cannot restore .*: it is {status.value}"
        ):
            s.restore(cp)
        assert len(s.messages) == 2
