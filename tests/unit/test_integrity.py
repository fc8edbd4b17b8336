"""Versions, ownership, expiry and failed turns: what keeps the mirror trustworthy."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import threadline as tl
from threadline.providers import EchoProvider
from threadline.providers.base import TurnRequest, TurnResult
from threadline.testing import AsyncEchoEngine


def _rate_limited() -> tl.RateLimitError:
    return tl.RateLimitError("slow down", provider="echo", status_code=429, retryable=True)


def test_stale_handle_across_two_managers_gets_concurrency_error(sqlite_url: str) -> None:
    """Two managers on one database: the slower writer is refused, never overwrites."""
    with tl.SessionManager(sqlite_url) as m1, tl.SessionManager(sqlite_url) as m2:
        s1 = m1.create()
        s2 = m2.get(s1.id)
        s1.send("first writer")
        with pytest.raises(tl.ConcurrencyError, match="changed since version 1") as info:
            s2.send("stale writer")
        assert info.value.session_id == s1.id
        with pytest.raises(tl.ConcurrencyError, match="changed since version 1"):
            s2.pause()
        assert [m.text for m in m1.get(s1.id).messages] == ["first writer", "echo: first writer"]
        s2.refresh()
        s2.send("after refresh")
        assert len(m1.get(s1.id).messages) == 4


def test_orphaned_turn_invalidates_shared_native_state(sqlite_url: str) -> None:
    """A turn that reached the server but lost the commit race must not leave the
    winner continuing a server conversation that holds the loser's turn."""
    echo = EchoProvider()
    with (
        tl.SessionManager(sqlite_url, providers=[echo]) as m1,
        tl.SessionManager(sqlite_url, providers=[echo]) as m2,
    ):
        s1 = m1.create()
        s1.send("seed")
        s2 = m2.get(s1.id)
        s1.send("winner")
        # s2's handle is stale but its native state still points at the server copy.
        with pytest.raises(tl.ConcurrencyError, match="changed since version"):
            s2.send("loser")
        winner = m1.get(s1.id)
        assert winner.native_id is None  # next turn re-seeds from the mirror
        reply = winner.send("next")
        assert reply.text == "echo: next"
        assert winner.native_id is not None
        assert [m.text for m in echo.conversations[winner.native_id]] == [
            m.text for m in winner.messages
        ]


class _YieldingEngine(AsyncEchoEngine):
    async def turn(self, request: TurnRequest) -> TurnResult:
        await asyncio.sleep(0)
        result = await super().turn(request)
        await asyncio.sleep(0)
        return result


class YieldingEcho(EchoProvider):
    """Echo that gives the event loop away mid-turn, as a real network call does."""

    async_engine_class = _YieldingEngine


async def test_twenty_concurrent_sends_stay_paired(store_url: str) -> None:
    """Sends on one session object are serialized: each user message is followed by
    its own reply, nothing is lost, and every turn sees all the turns before it."""
    amanager = tl.AsyncSessionManager(store_url, providers=[YieldingEcho()])
    s = await amanager.create(mode="local")
    texts = [f"message {i}" for i in range(20)]
    replies = await asyncio.gather(*(s.send(t) for t in texts))
    assert [r.text for r in replies] == [f"echo: {t}" for t in texts]
    # Local mode sends the whole history: turn k sees k earlier pairs of 2 + 3 words.
    assert [r.usage.input_tokens for r in replies if r.usage] == [5 * k + 2 for k in range(20)]
    history = (await amanager.get(s.id)).messages
    assert len(history) == 40
    for user, reply in zip(history[::2], history[1::2], strict=True):
        assert user.role == "user"
        assert reply.role == "assistant"
        assert reply.text == f"echo: {user.text}"
    assert s.version == 21
    await amanager.close()


def test_ownership_is_enforced(manager: tl.SessionManager) -> None:
    """Another user cannot see, list, fork or delete the session; existence is not leaked."""
    alice = manager.create(user="alice")
    alice.send("private")
    bob = manager.create(user="bob")
    with pytest.raises(tl.SessionNotFoundError, match="not found") as info:
        manager.get(alice.id, user="bob")
    assert str(info.value) == f"session {alice.id!r} not found"
    with pytest.raises(tl.SessionNotFoundError, match="ses_doesnotexist") as missing:
        manager.get("ses_doesnotexist", user="bob")
    assert type(info.value) is type(missing.value)
    with pytest.raises(tl.SessionNotFoundError, match="not found"):
        manager.delete(alice.id, user="bob")
    assert [i.id for i in manager.list(user="alice")] == [alice.id]
    assert [i.id for i in manager.list(user="bob")] == [bob.id]
    assert manager.get(alice.id, user="alice").messages[0].text == "private"


def test_ttl_expiry_and_cleanup(manager: tl.SessionManager, move_clock: Any) -> None:
    s = manager.create(user="u", ttl=timedelta(minutes=5))
    s.send("soon gone")
    keep = manager.create(user="u")
    echo = manager.provider("echo")
    assert isinstance(echo, EchoProvider)
    assert s.native_id in echo.conversations
    # Move the clock 10 minutes on.
    move_clock(timedelta(minutes=10))
    assert s.status is tl.SessionStatus.EXPIRED
    with pytest.raises(tl.SessionExpiredError, match="has expired"):
        manager.get(s.id, user="u")
    with pytest.raises(tl.SessionExpiredError, match="has expired"):
        s.send("too late")
    assert [i.id for i in manager.list(user="u")] == [keep.id]
    assert [i.id for i in manager.list(user="u", status="expired")] == [s.id]
    assert manager.list(user="u", status="expired")[0].status is tl.SessionStatus.EXPIRED
    assert manager.cleanup_expired() == 1
    assert s.native_id not in echo.conversations  # server-side state removed too
    assert manager.list(user="u", status="expired") == []
    assert manager.cleanup_expired() == 0
    assert manager.get(keep.id, user="u").id == keep.id


def test_cleanup_expired_reports_progress(manager: tl.SessionManager, move_clock: Any) -> None:
    """``progress(done, found)``: the store batch first, then each server-side delete."""
    for i in range(3):
        s = manager.create(ttl=timedelta(minutes=5))
        if i < 2:
            s.send("has server-side state")  # echo keeps a server copy of these two
    manager.create()  # never expires
    move_clock(timedelta(minutes=10))
    calls: list[tuple[int, int]] = []
    assert manager.cleanup_expired(progress=lambda done, found: calls.append((done, found))) == 3
    assert calls == [(1, 3), (2, 3), (3, 3)]
    assert manager.cleanup_expired(progress=lambda done, found: calls.append((done, found))) == 0
    assert calls == [(1, 3), (2, 3), (3, 3)]  # nothing found, nothing reported


async def test_cleanup_expired_reports_progress_on_the_async_face(
    amanager: tl.AsyncSessionManager, move_clock: Any
) -> None:
    s = await amanager.create(ttl=timedelta(minutes=5))
    await s.send("x")
    move_clock(timedelta(minutes=10))
    calls: list[tuple[int, int]] = []
    assert await amanager.cleanup_expired(progress=lambda d, f: calls.append((d, f))) == 1
    assert calls == [(0, 1), (1, 1)]


def test_ttl_slides_with_activity(manager: tl.SessionManager) -> None:
    s = manager.create(ttl=timedelta(hours=1))
    first = s.expires_at
    s.send("activity")
    assert s.expires_at is not None and first is not None
    assert s.expires_at > first


def test_failed_turn_leaves_mirror_unchanged(store_url: str, no_sleep: list[float]) -> None:
    """A provider error after retries raises and changes neither messages nor status."""
    echo = EchoProvider(faults=[_rate_limited()] * 4)
    with tl.SessionManager(store_url, providers=[echo]) as m:
        s = m.create()
        before = (list(s.messages), s.version, s.status, s.usage)
        with pytest.raises(tl.RateLimitError, match="slow down") as info:
            s.send("doomed")
        assert info.value.retryable
        assert echo.calls == 4  # default max_attempts
        assert len(no_sleep) == 3
        assert (list(s.messages), s.version, s.status, s.usage) == before
        reloaded = m.get(s.id)
        assert reloaded.messages == [] and reloaded.status is tl.SessionStatus.ACTIVE
        assert s.send("works now").text == "echo: works now"


def test_retry_then_success_mirrors_once(store_url: str, no_sleep: list[float]) -> None:
    echo = EchoProvider(faults=[_rate_limited(), None])
    policy = tl.RetryPolicy(max_attempts=3, initial_backoff=0.25, max_backoff=1.0)
    with tl.SessionManager(store_url, providers=[echo], retry=policy) as m:
        s = m.create()
        assert s.send("eventually").text == "echo: eventually"
        assert echo.calls == 2
        assert len(no_sleep) == 1 and 0 <= no_sleep[0] <= 0.25
        assert [m.text for m in m.get(s.id).messages] == ["eventually", "echo: eventually"]


def test_retry_after_is_honoured_and_non_retryable_is_not_retried(
    no_sleep: list[float],
) -> None:
    limited = tl.RateLimitError(
        "wait", provider="echo", status_code=429, retryable=True, retry_after=1.5
    )
    auth = tl.AuthenticationError("bad key", provider="echo", status_code=401)
    echo = EchoProvider(faults=[limited, None, auth])
    with tl.SessionManager("memory://", providers=[echo]) as m:
        s = m.create()
        s.send("a")
        assert no_sleep == [1.5]
        with pytest.raises(tl.AuthenticationError, match="bad key"):
            s.send("b")
        assert no_sleep == [1.5]
        assert len(s.messages) == 2
    too_long = tl.RateLimitError("later", provider="echo", retryable=True, retry_after=999)
    echo = EchoProvider(faults=[too_long])
    with tl.SessionManager("memory://", providers=[echo]) as m:
        with pytest.raises(tl.RateLimitError, match="later"):
            m.create().send("c")
        assert echo.calls == 1


def test_ambiguous_failure_drops_native_state(no_sleep: list[float]) -> None:
    """After a timeout the server may hold the turn: the next turn re-seeds instead."""
    timeout = tl.ProviderUnavailableError("timed out", provider="echo", ambiguous=True)
    echo = EchoProvider(faults=[None, timeout])
    with tl.SessionManager("memory://", providers=[echo], retry=tl.RetryPolicy(1)) as m:
        s = m.create()
        s.send("one")
        assert s.native_id is not None
        with pytest.raises(tl.ProviderUnavailableError, match="timed out"):
            s.send("two")
        assert s.native_id is None
        assert [m.text for m in s.messages] == ["one", "echo: one"]
        s.send("three")
        assert s.native_id is not None
        assert [m.text for m in echo.conversations[s.native_id]] == [
            "one",
            "echo: one",
            "three",
            "echo: three",
        ]


def test_stream_retries_before_first_event(no_sleep: list[float]) -> None:
    echo = EchoProvider(faults=[_rate_limited(), None])
    with tl.SessionManager("memory://", providers=[echo]) as m:
        s = m.create()
        text = "".join(e.text for e in s.stream("hi there") if e.type == "text")
        assert text == "echo: hi there"
        assert len(s.messages) == 2


@pytest.mark.parametrize(
    "bad",
    ["", "a" * 129, "../etc/passwd", "a/b", "a\\b", "tab\there", "nul\x00", "ses..x", " lead"],
)
def test_bad_ids_are_refused_before_the_store(tmp_path: Path, bad: str) -> None:
    with tl.SessionManager(f"sqlite:///{tmp_path / 'ids.db'}") as m:
        with pytest.raises(tl.ValidationError, match=r"^session id "):
            m.get(bad)
        with pytest.raises(tl.ValidationError, match=r"^session id "):
            m.create(session_id=bad)
        with pytest.raises(tl.ValidationError, match=r"^user "):
            m.create(user=bad)
        with pytest.raises(tl.ValidationError, match=r"^user "):
            m.list(user=bad)
        with pytest.raises(tl.ValidationError, match=r"^session id "):
            m.delete(bad)
        s = m.create()
        with pytest.raises(tl.ValidationError, match=r"^user "):
            s.fork(user=bad)
        data = s.export()
        s.delete()
        with pytest.raises(tl.ValidationError, match=r"^session id "):
            m.import_session({**data, "session": {**data["session"], "id": bad}}, keep_id=True)
        with pytest.raises(tl.ValidationError, match=r"^user "):
            m.import_session(data, user=bad)
        assert m.list() == []
    # Nothing but the database itself was created.
    assert {p.name for p in tmp_path.iterdir()} <= {"ids.db", "ids.db-shm", "ids.db-wal"}


def test_metadata_must_be_json(manager: tl.SessionManager) -> None:
    with pytest.raises(tl.ValidationError, match="metadata must be JSON: object is not"):
        manager.create(metadata={"when": object()})
    with pytest.raises(tl.ValidationError, match="the limit is 65536"):
        manager.create(metadata={"big": "x" * 70_000})


def test_dropped_native_state_is_deleted_best_effort() -> None:
    """Restore drops the server copy and deletes it; a failing delete does not
    fail the restore."""
    echo = EchoProvider()
    with tl.SessionManager("memory://", providers=[echo]) as m:
        s = m.create()
        cp = s.checkpoint()
        s.send("one")
        old = s.native_id
        assert old in echo.conversations
        s.restore(cp)
        assert old not in echo.conversations

        s.send("two")

        async def broken(native: object) -> None:
            raise tl.ProviderUnavailableError("down", provider="echo")

        echo.delete_native = broken  # type: ignore[method-assign]
        s.restore(cp)
        assert s.messages == []
        assert s.native_id is None
