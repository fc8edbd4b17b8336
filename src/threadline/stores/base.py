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
from typing import Generic, Literal, TypeVar

from .._records import SessionRecord
from ..errors import ValidationError
from ..messages import SessionStatus

T = TypeVar("T")

__all__ = ["Page", "SessionPage", "SessionQuery", "decode_cursor", "encode_cursor", "to_micros"]


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
