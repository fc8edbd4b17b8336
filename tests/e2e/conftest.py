"""Fixtures for the CLI tests: one SQLite store, seen by the CLI and by the library."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import threadline as tl


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh SQLite store, also set as $THREADLINE_STORE (the CLI's default)."""
    url = f"sqlite:///{tmp_path / 'sessions.db'}"
    monkeypatch.setenv("THREADLINE_STORE", url)
    return url


@pytest.fixture
def manager(store_url: str) -> Iterator[tl.SessionManager]:
    """The same store seen from the library, to set up and check what the CLI did."""
    with tl.SessionManager(store_url) as manager:
        yield manager
