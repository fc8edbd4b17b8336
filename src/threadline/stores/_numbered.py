"""Numbered schema migrations, the part the SQLite and Postgres stores share.

Each store keeps its own list of ``(number, name, function)``; a function named
``mNNN_what`` is added to it with the decorator `numbered` returns. `pending` says
which of them a database still needs, refusing one that records a migration this
code does not know (written by a newer threadline).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import StoreError

M = TypeVar("M", bound=Callable[..., Any])


def numbered(registry: list[tuple[int, str, M]]) -> Callable[[M], M]:
    """A decorator adding ``mNNN_name`` functions to ``registry``, in order."""

    def register(fn: M) -> M:
        number = int(fn.__name__[1:4])
        assert number == len(registry) + 1, f"migrations must be numbered in order: {fn.__name__}"
        registry.append((number, fn.__name__, fn))
        return fn

    return register


def pending(
    registry: list[tuple[int, str, M]], done: set[int], where: str, *, up_to: int | None = None
) -> list[tuple[int, str, M]]:
    """The migrations ``where`` still needs (up to ``up_to``), or `StoreError` when it
    records one newer than ``registry`` knows."""
    known = {number for number, _, _ in registry}
    if unknown := sorted(done - known):
        raise StoreError(
            f"{where} has schema migration {unknown[-1]}, newer than this threadline knows "
            f"(latest {max(known)}); upgrade threadline to open it"
        )
    return [m for m in registry if m[0] not in done and (up_to is None or m[0] <= up_to)]
