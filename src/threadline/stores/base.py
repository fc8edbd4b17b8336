"""The store seam: what every backend (memory, SQLite, later Postgres and Redis) does.

A store keeps session records and their messages, one row per message. Every write is
one atomic compare-and-set step on the record's ``version``: the record, the messages
appended, and the messages cut off by a restore change together or not at all.

Ownership and expiry are a store's job, enforced in its query: a call scoped to a
user sees only that user's sessions, and expired sessions never come back as live.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from .._records import SessionRecord
from ..errors import ValidationError
from ..messages import SessionStatus

T = TypeVar("T")

__all__ = [
    "Page",
    "SessionPage",
    "SessionQuery",
    "decode_cursor",
    "encode_cursor",
    "list_statement",
    "to_micros",
]


@dataclass(frozen=True, slots=True)
class SessionQuery:
    """A filter for ``Store.list``. ``user=None`` means: do not scope by user."""

    now: datetime
    user: str | None = None
    status: SessionStatus | None = None
    provider: str | None = None
    order_by: Literal["created", "updated"] = "created"
    limit: int = 50
    cursor: str | None = None


class Page(list[T], Generic[T]):
    """A list that is one page of results; pass ``next_cursor`` to get the next page
    (None on the last one)."""

    next_cursor: str | None = None


SessionPage = Page[SessionRecord]


def encode_cursor(sort_key: int, session_id: str) -> str:
    return f"{sort_key}.{session_id}"


_MAX_KEY = 2**63 - 1  # sort keys are 64-bit integers in every store


def decode_cursor(cursor: str) -> tuple[int, str]:
    if not isinstance(cursor, str):
        raise ValidationError(f"a list cursor is a string, not {type(cursor).__name__}")
    key, sep, session_id = cursor.partition(".")
    digits = key[1:] if key.startswith("-") else key
    if not sep or not digits.isascii() or not digits.isdigit() or len(digits) > 19:
        raise ValidationError(f"not a list cursor: {cursor[:40]!r}")
    value = int(key)
    if not -_MAX_KEY <= value <= _MAX_KEY or not session_id:
        raise ValidationError(f"not a list cursor: {cursor[:40]!r}")
    return value, session_id


def to_micros(value: datetime) -> int:
    """A UTC datetime as integer microseconds since the epoch (the stores' sort key)."""
    return int(value.timestamp() * 1_000_000)


def list_statement(query: SessionQuery, table: str, mark: str) -> tuple[str, list[Any]]:
    """The SQL stores' page query: filters, keyset cursor and newest-first order.

    ``mark`` is the driver's placeholder (``?`` for sqlite3, ``%s`` for psycopg).
    Selects ``id, data, <sort key>``, one row more than the page, to tell whether
    another page follows.
    """
    column = "updated_us" if query.order_by == "updated" else "created_us"
    where: list[str] = []
    params: list[Any] = []
    if query.user is not None:
        where.append(f"user_id = {mark}")
        params.append(query.user)
    if query.provider is not None:
        where.append(f"provider = {mark}")
        params.append(query.provider)
    now = to_micros(query.now)
    if query.status == SessionStatus.EXPIRED:
        where.append(f"expires_us IS NOT NULL AND expires_us <= {mark}")
        params.append(now)
    else:
        where.append(f"(expires_us IS NULL OR expires_us > {mark})")
        params.append(now)
        if query.status is not None:
            where.append(f"status = {mark}")
            params.append(query.status.value)
    if query.cursor is not None:
        key, last_id = decode_cursor(query.cursor)
        where.append(f"({column}, id) < ({mark}, {mark})")
        params.extend([key, last_id])
    params.append(query.limit + 1)
    sql = (
        f"SELECT id, data, {column} FROM {table} WHERE {' AND '.join(where)}"
        f" ORDER BY {column} DESC, id DESC LIMIT {mark}"
    )
    return sql, params
