"""The store contract, checked the same way on memory, SQLite, Postgres and Redis.

Every test here runs on each backend (``durable_backend``: the three whose data
outlives the store object). They call the async store protocol directly, with
records and clocks chosen by the test, so that each assertion is about the store.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from _backends import Backend, corrupt_message, corrupt_record

from threadline._records import SessionRecord
from threadline.errors import (
    ConcurrencyError,
    SessionExpiredError,
    SessionNotFoundError,
    StoreError,
    ValidationError,
)
from threadline.messages import Message, SessionStatus
from threadline.stores.base import SessionQuery

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def rec(session_id: str, *, created: float = 0, updated: float | None = None, **fields: Any):
    """A record created ``created`` seconds after NOW (updated then, unless given)."""
    return SessionRecord(
        id=session_id,
        provider=fields.pop("provider", "echo"),
        model="echo-1",
        created_at=at(created),
        updated_at=at(created if updated is None else updated),
        **fields,
    )


def texts(messages: list[Message]) -> list[str]:
    return [m.text for m in messages]


def history(n: int, start: int = 0) -> list[Message]:
    return [Message.user(f"m{i}") for i in range(start, start + n)]


async def committed(store: Any, record: SessionRecord, append: list[Message], **kw: Any):
    """Commit the next version of ``record`` with ``append``; return the new record."""
    keep = kw.get("keep")
    base = record.message_count if keep is None else keep
    new = record.model_copy(
        update={
            "version": record.version + 1,
            "message_count": base + len(append),
            **kw.pop("update", {}),
        }
    )
    await store.commit(new, expected_version=record.version, append=append, **kw)
    return new


async def ids(store: Any, **query: Any) -> list[str]:
    page = await store.list_sessions(SessionQuery(now=query.pop("now", NOW), **query))
    return [r.id for r in page]


async def all_pages(store: Any, **query: Any) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        page = await store.list_sessions(SessionQuery(now=NOW, cursor=cursor, **query))
        pages.append([r.id for r in page])
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


# -- records and messages ----------------------------------------------------------


async def test_a_created_session_reads_back_whole(store: Any) -> None:
    """create() with a history (as fork and import do) stores both exactly."""
    record = rec("ses_a", user="ann", metadata={"k": [1, "x"]}, message_count=3)
    await store.create(record, history(3))
    assert await store.get("ses_a", user="ann", now=NOW) == record
    assert texts(await store.read_messages("ses_a")) == ["m0", "m1", "m2"]


async def test_an_id_that_is_taken_is_refused_and_the_first_session_kept(store: Any) -> None:
    await store.create(rec("ses_a", metadata={"first": True}, message_count=1), history(1))
    with pytest.raises(ValidationError, match="already taken"):
        await store.create(rec("ses_a", metadata={"first": False}), [])
    assert (await store.get("ses_a", user=None, now=NOW)).metadata == {"first": True}
    assert texts(await store.read_messages("ses_a")) == ["m0"]


async def test_sessions_survive_closing_and_reopening_the_store(durable_backend: Backend) -> None:
    first = durable_backend.open()
    record = rec("ses_a", user="ann", message_count=1)
    await first.create(record, history(1))
    record = await committed(first, record, history(2, start=1))
    await first.close()
    second = durable_backend.open()
    try:
        assert await second.get("ses_a", user="ann", now=NOW) == record
        assert texts(await second.read_messages("ses_a")) == ["m0", "m1", "m2"]
        assert await ids(second, user="ann") == ["ses_a"]
    finally:
        await second.close()


# -- ownership -----------------------------------------------------------------------


async def test_another_users_session_is_not_found_and_not_listed(store: Any) -> None:
    await store.create(rec("ses_ann", user="ann"))
    await store.create(rec("ses_bob", user="bob", created=1))
    await store.create(rec("ses_nobody", created=2))
    with pytest.raises(SessionNotFoundError) as other:
        await store.get("ses_ann", user="bob", now=NOW)
    with pytest.raises(SessionNotFoundError) as missing:
        await store.get("ses_none", user="bob", now=NOW)
    # Existence is not leaked: the same error as for an id that does not exist.
    assert str(other.value).replace("ses_ann", "ID") == str(missing.value).replace("ses_none", "ID")
    with pytest.raises(SessionNotFoundError, match=r"^session 'ses_nobody' not found$"):
        await store.get("ses_nobody", user="ann", now=NOW)
    assert (await store.get("ses_ann", user="ann", now=NOW)).user == "ann"
    assert (await store.get("ses_ann", user=None, now=NOW)).user == "ann"
    assert await ids(store, user="ann") == ["ses_ann"]
    assert await ids(store, user="carl") == []
    assert await ids(store) == ["ses_nobody", "ses_bob", "ses_ann"]


async def test_delete_is_scoped_by_user(store: Any) -> None:
    await store.create(rec("ses_ann", user="ann", message_count=2), history(2))
    assert await store.delete("ses_ann", user="bob") is False
    assert await store.get("ses_ann", user="ann", now=NOW)
    assert await store.delete("ses_ann", user="ann") is True
    assert await store.delete("ses_ann", user="ann") is False
    with pytest.raises(SessionNotFoundError, match=r"^session 'ses_ann' not found$"):
        await store.get("ses_ann", user=None, now=NOW)
    assert await store.read_messages("ses_ann") == []
    # The id is free again, with no messages left over from the deleted session.
    await store.create(rec("ses_ann", user="bob"))
    assert await store.read_messages("ses_ann") == []


# -- expiry --------------------------------------------------------------------------


async def test_expired_sessions_are_refused_listed_apart_and_swept_by_expiry(store: Any) -> None:
    """``expires_at == now`` is expired; expired() is ordered by expiry, then id."""
    await store.create(rec("ses_z_past", user="ann", expires_at=at(-5)))
    await store.create(rec("ses_a_now", user="ann", created=1, expires_at=NOW))
    await store.create(rec("ses_b_now", user="ann", created=2, expires_at=NOW))
    await store.create(rec("ses_later", user="ann", created=3, expires_at=at(5)))
    await store.create(rec("ses_never", user="ann", created=4))
    for expired_id in ("ses_z_past", "ses_a_now", "ses_b_now"):
        with pytest.raises(SessionExpiredError, match=rf"^session '{expired_id}' has expired$"):
            await store.get(expired_id, user="ann", now=NOW)
    assert (await store.get("ses_later", user="ann", now=NOW)).expires_at == at(5)
    assert await ids(store, user="ann") == ["ses_never", "ses_later"]
    assert await ids(store, status=SessionStatus.EXPIRED) == [
        "ses_b_now",
        "ses_a_now",
        "ses_z_past",
    ]
    swept = await store.expired(NOW)
    assert [(i, r.id if r else None) for i, r in swept] == [
        ("ses_z_past", "ses_z_past"),
        ("ses_a_now", "ses_a_now"),
        ("ses_b_now", "ses_b_now"),
    ]
    assert [i for i, _ in await store.expired(NOW, limit=2)] == ["ses_z_past", "ses_a_now"]
    assert await store.delete_many([i for i, _ in swept]) == 3
    assert await store.expired(NOW) == []
    assert [i for i, _ in await store.expired(at(5))] == ["ses_later"]
    with pytest.raises(SessionNotFoundError, match=r"^session 'ses_a_now' not found$"):
        await store.get("ses_a_now", user=None, now=NOW)


async def test_a_commit_can_extend_or_clear_the_expiry(store: Any) -> None:
    record = rec("ses_a", expires_at=at(1))
    await store.create(record)
    record = await committed(store, record, [], update={"expires_at": at(100)})
    assert await store.expired(at(50)) == []
    await committed(store, record, [], update={"expires_at": None})
    assert await store.expired(at(1000)) == []
    assert (await store.get("ses_a", user=None, now=at(1000))).expires_at is None


# -- versions --------------------------------------------------------------------------


async def test_a_stale_handle_gets_a_conflict_and_never_overwrites(store: Any) -> None:
    base = rec("ses_a")
    await store.create(base)
    winner = await committed(store, base, history(2), update={"metadata": {"by": "winner"}})
    with pytest.raises(ConcurrencyError) as conflict:
        await committed(store, base, history(2, start=10), update={"metadata": {"by": "loser"}})
    assert conflict.value.expected_version == 1
    assert await store.get("ses_a", user=None, now=NOW) == winner
    assert texts(await store.read_messages("ses_a")) == ["m0", "m1"]
    # A restore from a stale handle, too.
    with pytest.raises(ConcurrencyError, match=r"^session 'ses_a' changed since version 1"):
        await committed(store, base, [], keep=0)
    assert len(await store.read_messages("ses_a")) == 2


async def test_committing_a_session_that_is_gone_is_not_found(store: Any) -> None:
    with pytest.raises(SessionNotFoundError, match=r"^session 'ses_gone' not found$"):
        await committed(store, rec("ses_gone"), history(1))
    assert await ids(store) == []


async def test_restore_truncates_and_appends_in_one_commit(store: Any) -> None:
    record = rec("ses_a", message_count=6)
    await store.create(record, history(6))
    record = await committed(store, record, [Message.user("new")], keep=2)
    assert texts(await store.read_messages("ses_a")) == ["m0", "m1", "new"]
    assert (await store.get("ses_a", user=None, now=NOW)).message_count == 3
    record = await committed(store, record, [Message.user("x"), Message.user("y")], keep=3)
    assert texts(await store.read_messages("ses_a")) == ["m0", "m1", "new", "x", "y"]
    record = await committed(store, record, [], keep=0)
    assert await store.read_messages("ses_a") == []
    await committed(store, record, history(1))
    assert texts(await store.read_messages("ses_a")) == ["m0"]


async def test_messages_are_read_in_windows(store: Any) -> None:
    await store.create(rec("ses_a", message_count=10), history(10))
    assert texts(await store.read_messages("ses_a", after=3, limit=4)) == ["m3", "m4", "m5", "m6"]
    assert texts(await store.read_messages("ses_a", after=8)) == ["m8", "m9"]
    assert texts(await store.read_messages("ses_a", limit=2)) == ["m0", "m1"]
    assert await store.read_messages("ses_a", after=10) == []
    assert await store.read_messages("ses_a", after=2, limit=0) == []
    assert await store.read_messages("ses_unknown") == []


# -- listing ---------------------------------------------------------------------------


async def test_pages_are_newest_first_by_creation_and_by_last_write(store: Any) -> None:
    for i in range(7):  # created 0..6, last written in the opposite order
        await store.create(rec(f"ses_{i}", user="ann", created=i, updated=100 - i))
    await store.create(rec("ses_bob", user="bob", created=3.5, updated=50))
    assert await all_pages(store, user="ann", limit=3) == [
        ["ses_6", "ses_5", "ses_4"],
        ["ses_3", "ses_2", "ses_1"],
        ["ses_0"],
    ]
    assert await all_pages(store, user="ann", limit=3, order_by="updated") == [
        ["ses_0", "ses_1", "ses_2"],
        ["ses_3", "ses_4", "ses_5"],
        ["ses_6"],
    ]
    assert await all_pages(store, limit=4) == [
        ["ses_6", "ses_5", "ses_4", "ses_bob"],
        ["ses_3", "ses_2", "ses_1", "ses_0"],
    ]
    assert (await all_pages(store, limit=5, order_by="updated"))[1] == ["ses_5", "ses_6", "ses_bob"]


async def test_an_exactly_full_last_page_has_no_cursor(store: Any) -> None:
    for i in range(4):
        await store.create(rec(f"ses_{i}", created=i))
    assert await all_pages(store, limit=2) == [["ses_3", "ses_2"], ["ses_1", "ses_0"]]
    first = await store.list_sessions(SessionQuery(now=NOW, limit=4))
    assert len(first) == 4 and first.next_cursor is None


async def test_sessions_created_in_the_same_microsecond_page_by_id(store: Any) -> None:
    for name in ("ses_c", "ses_a", "ses_e", "ses_b", "ses_d"):
        await store.create(rec(name, user="ann"))
    assert await all_pages(store, user="ann", limit=2) == [
        ["ses_e", "ses_d"],
        ["ses_c", "ses_b"],
        ["ses_a"],
    ]


async def test_lists_filter_by_provider_and_status(store: Any) -> None:
    await store.create(rec("ses_echo", user="ann"))
    await store.create(rec("ses_openai", user="ann", created=1, provider="openai"))
    await store.create(rec("ses_done", user="ann", created=2, status=SessionStatus.COMPLETED))
    assert await ids(store, user="ann", provider="openai") == ["ses_openai"]
    assert await ids(store, provider="echo") == ["ses_done", "ses_echo"]
    assert await ids(store, user="ann", status=SessionStatus.COMPLETED) == ["ses_done"]
    assert await ids(store, status=SessionStatus.ACTIVE, provider="echo") == ["ses_echo"]


# -- damage and lifetime ---------------------------------------------------------------


async def test_a_corrupt_row_names_its_session_and_spares_the_others(
    durable_backend: Backend,
) -> None:
    store = durable_backend.open()
    try:
        await store.create(rec("ses_bad", user="ann", expires_at=at(10)))
        await store.create(rec("ses_badmsg", user="ann", created=1, message_count=2), history(2))
        await store.create(rec("ses_good", user="ann", created=2))
        corrupt_record(durable_backend.name, durable_backend.url, "ses_bad")
        corrupt_message(durable_backend.name, durable_backend.url, "ses_badmsg", 1)
        with pytest.raises(StoreError, match="ses_bad") as info:
            await store.get("ses_bad", user="ann", now=NOW)
        assert info.value.session_id == "ses_bad"
        with pytest.raises(StoreError, match="ses_badmsg") as info:
            await store.read_messages("ses_badmsg")
        assert info.value.session_id == "ses_badmsg"
        assert await ids(store, user="ann") == ["ses_good", "ses_badmsg"]
        # Expired and unreadable, it is still swept (without its record).
        assert await store.expired(at(10)) == [("ses_bad", None)]
        assert await store.delete_many(["ses_bad"]) == 1
        assert await store.expired(at(10)) == []
    finally:
        await store.close()


async def test_a_closed_store_refuses_every_call(backend: Backend) -> None:
    store = backend.open()
    await store.create(rec("ses_a"))
    await store.close()
    await store.close()  # twice is fine
    with pytest.raises(StoreError, match="closed"):
        await store.get("ses_a", user=None, now=NOW)
    with pytest.raises(StoreError, match="closed"):
        await store.create(rec("ses_b"))
    with pytest.raises(StoreError, match="closed"):
        await store.list_sessions(SessionQuery(now=NOW))
