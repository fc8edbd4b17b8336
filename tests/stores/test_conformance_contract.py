"""Store contract details where a wrong line loses, duplicates or leaks data.

Runs on every backend through the conformance fixtures (tests/stores/conftest.py),
calling the async store protocol directly with records and clocks the test chooses:
the compare-and-set in both directions, windowed reads, the provider filter, cursors
at page edges, the exact expiry boundary, the order ``expired()`` promises, sessions
without an owner, and a closed store refusing every call.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from threadline._records import SessionRecord
from threadline.errors import (
    ConcurrencyError,
    SessionExpiredError,
    SessionNotFoundError,
    StoreError,
)
from threadline.messages import Message, SessionStatus
from threadline.stores.base import SessionQuery

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
MICRO = timedelta(microseconds=1)


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def rec(session_id: str, *, created: float = 0, **fields: Any) -> SessionRecord:
    return SessionRecord(
        id=session_id,
        provider=fields.pop("provider", "echo"),
        model="m",
        created_at=at(created),
        updated_at=at(fields.pop("updated", created)),
        **fields,
    )


def msgs(*names: str) -> list[Message]:
    return [Message.user(n) for n in names]


def texts(messages: list[Message]) -> list[str]:
    return [m.text for m in messages]


async def listed(store: Any, **query: Any) -> list[str]:
    page = await store.list_sessions(SessionQuery(now=query.pop("now", NOW), **query))
    return [r.id for r in page]


async def walk(store: Any, **query: Any) -> tuple[list[list[str]], list[str | None]]:
    """Every page of a listing, and the cursor each page returned."""
    pages: list[list[str]] = []
    cursors: list[str | None] = []
    cursor = None
    while True:
        page = await store.list_sessions(SessionQuery(now=NOW, cursor=cursor, **query))
        pages.append([r.id for r in page])
        cursors.append(page.next_cursor)
        if page.next_cursor is None or len(pages) > 20:
            return pages, cursors
        cursor = page.next_cursor


# -- compare-and-set -----------------------------------------------------------------------


@pytest.mark.parametrize("expected", [1, 2, 4, 10])
async def test_a_commit_against_any_version_but_the_stored_one_is_refused(
    store: Any, expected: int
) -> None:
    """Stored version 3: a handle that is behind (1, 2) or claims to be ahead (4, 10)
    gets `ConcurrencyError`, and neither the record nor the messages change."""
    record = rec("ses_a", message_count=1, version=3, metadata={"by": "stored"})
    await store.create(record, msgs("m0"))
    stale = record.model_copy(
        update={"version": expected + 1, "message_count": 2, "metadata": {"by": "stale"}}
    )
    with pytest.raises(ConcurrencyError, match="changed since version") as caught:
        await store.commit(stale, expected_version=expected, append=msgs("lost"))
    assert (caught.value.session_id, caught.value.expected_version) == ("ses_a", expected)
    assert await store.get("ses_a", user=None, now=NOW) == record
    assert texts(await store.read_messages("ses_a")) == ["m0"]
    cut = stale.model_copy(update={"message_count": 0})
    with pytest.raises(ConcurrencyError, match="changed since version"):
        await store.commit(cut, expected_version=expected, keep=0)
    assert texts(await store.read_messages("ses_a")) == ["m0"]
    # The stored version itself is accepted.
    current = record.model_copy(update={"version": 4, "message_count": 2})
    await store.commit(current, expected_version=3, append=msgs("m1"))
    assert texts(await store.read_messages("ses_a")) == ["m0", "m1"]
    assert (await store.get("ses_a", user=None, now=NOW)).version == 4


# -- windowed reads ------------------------------------------------------------------------


async def test_read_messages_returns_at_most_limit_from_after(store: Any) -> None:
    names = [f"m{i}" for i in range(6)]
    await store.create(rec("ses_a", message_count=6), msgs(*names))
    assert texts(await store.read_messages("ses_a", limit=1)) == ["m0"]
    assert texts(await store.read_messages("ses_a", after=1, limit=2)) == ["m1", "m2"]
    assert texts(await store.read_messages("ses_a", after=4, limit=5)) == ["m4", "m5"]
    assert texts(await store.read_messages("ses_a", after=5, limit=1)) == ["m5"]
    assert texts(await store.read_messages("ses_a", after=0, limit=6)) == names
    assert texts(await store.read_messages("ses_a", after=2)) == names[2:]


# -- listing -----------------------------------------------------------------------------


async def test_the_provider_filter_keeps_exactly_that_provider(store: Any) -> None:
    await store.create(rec("ses_echo", user="ann"))
    await store.create(rec("ses_openai", user="ann", created=1, provider="openai"))
    await store.create(rec("ses_google", user="bob", created=2, provider="google"))
    await store.create(rec("ses_openai2", user="bob", created=3, provider="openai"))
    assert await listed(store, provider="openai") == ["ses_openai2", "ses_openai"]
    assert await listed(store, provider="google") == ["ses_google"]
    assert await listed(store, provider="echo") == ["ses_echo"]
    assert await listed(store, provider="anthropic") == []
    assert await listed(store, provider="openai", user="bob") == ["ses_openai2"]
    assert await listed(store, provider="google", user="ann") == []
    assert len(await listed(store)) == 4


@pytest.mark.parametrize("order_by", ["created", "updated"])
async def test_cursors_continue_right_after_the_last_row_of_the_page(
    store: Any, order_by: str
) -> None:
    """Seven sessions in pages of three: 3, 3, 1, each exactly once, in order. The
    cursor comes from the last row shown (not the first row held back)."""
    for i in range(7):
        await store.create(rec(f"ses_{i}", created=i, updated=100 - i))
    pages, cursors = await walk(store, limit=3, order_by=order_by)
    newest = [f"ses_{i}" for i in range(6, -1, -1)]
    order = newest if order_by == "created" else newest[::-1]
    assert pages == [order[0:3], order[3:6], order[6:7]]
    assert cursors[-1] is None and None not in cursors[:-1]


@pytest.mark.parametrize("total", [3, 6])
async def test_an_exactly_full_last_page_has_no_next_cursor(store: Any, total: int) -> None:
    for i in range(total):
        await store.create(rec(f"ses_{i}", created=i))
    pages, cursors = await walk(store, limit=3)
    assert [len(p) for p in pages] == [3] * (total // 3)
    assert cursors[-1] is None
    assert sorted(i for page in pages for i in page) == [f"ses_{i}" for i in range(total)]


# -- expiry ------------------------------------------------------------------------------


async def test_a_session_is_expired_from_the_very_microsecond_of_its_expiry(store: Any) -> None:
    await store.create(rec("ses_a", user="ann", expires_at=NOW))
    before = NOW - MICRO
    assert (await store.get("ses_a", user="ann", now=before)).expires_at == NOW
    assert await listed(store, now=before) == ["ses_a"]
    assert await store.expired(before) == []
    with pytest.raises(SessionExpiredError, match="has expired") as caught:
        await store.get("ses_a", user="ann", now=NOW)
    assert caught.value.session_id == "ses_a"
    assert await listed(store, now=NOW) == []
    assert await listed(store, now=NOW, status=SessionStatus.EXPIRED) == ["ses_a"]
    assert await listed(store, now=before, status=SessionStatus.EXPIRED) == []
    assert [i for i, _ in await store.expired(NOW)] == ["ses_a"]


async def test_expired_returns_oldest_expiry_first_whatever_the_ids_or_creation(
    store: Any,
) -> None:
    await store.create(rec("ses_a", created=0, expires_at=at(30)))
    await store.create(rec("ses_b", created=1, expires_at=at(10)))
    await store.create(rec("ses_c", created=2, expires_at=at(20)))
    await store.create(rec("ses_d", created=3, expires_at=at(5)))
    await store.create(rec("ses_live", created=4, expires_at=at(100)))
    found = await store.expired(at(50))
    assert [(i, r.expires_at if r else None) for i, r in found] == [
        ("ses_d", at(5)),
        ("ses_b", at(10)),
        ("ses_c", at(20)),
        ("ses_a", at(30)),
    ]
    assert [i for i, _ in await store.expired(at(50), limit=2)] == ["ses_d", "ses_b"]
    assert [i for i, _ in await store.expired(at(15))] == ["ses_d", "ses_b"]


# -- ownership ---------------------------------------------------------------------------


async def test_a_session_without_an_owner_is_invisible_to_user_scoped_calls(store: Any) -> None:
    await store.create(rec("ses_free", message_count=1), msgs("hello"))
    with pytest.raises(SessionNotFoundError, match="not found"):
        await store.get("ses_free", user="ann", now=NOW)
    assert await listed(store, user="ann") == []
    assert await store.delete("ses_free", user="ann") is False
    assert (await store.get("ses_free", user=None, now=NOW)).user is None
    assert texts(await store.read_messages("ses_free")) == ["hello"]
    assert await listed(store) == ["ses_free"]


async def test_delete_many_counts_only_what_it_removed(store: Any) -> None:
    await store.create(rec("ses_a", message_count=2), msgs("a0", "a1"))
    await store.create(rec("ses_b", created=1, message_count=1), msgs("b0"))
    assert await store.delete_many(["ses_a", "ses_unknown"]) == 1
    assert await store.read_messages("ses_a") == []
    assert texts(await store.read_messages("ses_b")) == ["b0"]
    assert await listed(store) == ["ses_b"]
    assert await store.delete_many([]) == 0


async def test_committing_a_session_that_is_gone_names_it(store: Any) -> None:
    with pytest.raises(SessionNotFoundError, match="ses_gone") as caught:
        await store.commit(
            rec("ses_gone", version=2, message_count=1), expected_version=1, append=msgs("x")
        )
    assert caught.value.session_id == "ses_gone"
    assert await store.read_messages("ses_gone") == []


async def test_expired_returns_at_most_500_by_default(store: Any) -> None:
    for i in range(501):
        await store.create(rec(f"ses_{i:03}", expires_at=at(i % 7)))
    found = await store.expired(at(10))
    assert len(found) == 500
    assert [r.expires_at for _, r in found] == sorted(r.expires_at for _, r in found)  # type: ignore[union-attr]
    assert len(await store.expired(at(10), limit=501)) == 501


# -- lifetime ----------------------------------------------------------------------------


async def test_a_closed_store_refuses_every_call_with_store_error(backend: Any) -> None:
    store = backend.open()
    record = rec("ses_a", message_count=1)
    await store.create(record, msgs("m0"))
    await store.close()
    await store.close()
    calls = [
        store.get("ses_a", user=None, now=NOW),
        store.create(rec("ses_b")),
        store.commit(record.model_copy(update={"version": 2}), expected_version=1),
        store.read_messages("ses_a"),
        store.list_sessions(SessionQuery(now=NOW)),
        store.delete("ses_a", user=None),
        store.delete_many(["ses_a"]),
        store.expired(NOW),
    ]
    for call in calls:
        with pytest.raises(StoreError, match="closed"):
            await call
    if backend.name != "memory":  # memory's data goes with its object
        again = backend.open()
        try:
            assert await again.get("ses_a", user=None, now=NOW) == record
            assert texts(await again.read_messages("ses_a")) == ["m0"]
        finally:
            await again.close()
