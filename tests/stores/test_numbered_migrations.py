"""Numbered migrations (stores/_numbered.py), shared by the SQLite and Postgres stores:
registered in order by their ``mNNN_`` number, pending by what a database recorded,
and a database that recorded a newer one refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import threadline as tl
from threadline.stores._numbered import numbered, pending

Registry = list[tuple[int, str, Callable[..., Any]]]


def named(name: str) -> Callable[..., Any]:
    def migration() -> None:
        return None

    migration.__name__ = name
    return migration


def test_migrations_register_in_order_by_their_number() -> None:
    registry: Registry = []
    register = numbered(registry)
    first, second = named("m001_first"), named("m002_second")
    assert register(first) is first
    assert register(second) is second
    assert registry == [(1, "m001_first", first), (2, "m002_second", second)]


def test_a_migration_out_of_order_is_refused_when_the_code_is_written() -> None:
    registry: Registry = []
    register = numbered(registry)
    register(named("m001_first"))
    for wrong in ("m003_skips_one", "m001_again"):
        with pytest.raises(
            AssertionError, match=f"^migrations must be numbered in order: {wrong}$"
        ):
            register(named(wrong))
    assert [name for _, name, _ in registry] == ["m001_first"]


def test_the_number_is_all_three_digits() -> None:
    registry: Registry = []
    register = numbered(registry)
    for n in range(1, 101):
        register(named(f"m{n:03d}_step"))
    assert registry[-1][:2] == (100, "m100_step")


def test_pending_is_what_a_database_has_not_recorded_up_to_a_limit() -> None:
    registry: Registry = []
    register = numbered(registry)
    for n in (1, 2, 3):
        register(named(f"m00{n}_step"))
    assert [m[0] for m in pending(registry, set(), "db")] == [1, 2, 3]
    assert [m[0] for m in pending(registry, {1}, "db")] == [2, 3]
    assert [m[0] for m in pending(registry, {1}, "db", up_to=2)] == [2]
    assert pending(registry, {1, 2, 3}, "db") == []


def test_a_database_from_a_newer_threadline_is_refused() -> None:
    registry: Registry = []
    register = numbered(registry)
    register(named("m001_step"))
    register(named("m002_step"))
    with pytest.raises(
        tl.StoreError,
        match=r"^the db has schema migration 7, newer than this threadline knows "
        r"\(latest 2\); upgrade threadline to open it$",
    ):
        pending(registry, {1, 2, 5, 7}, "the db")
