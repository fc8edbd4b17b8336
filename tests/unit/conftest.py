"""Fixtures for the core tests: a store of each kind and managers on top of them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import threadline as tl


@pytest.fixture(params=["memory", "sqlite"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every core behaviour is checked on both built-in stores."""
    if request.param == "memory":
        return "memory://"
    return f"sqlite:///{tmp_path / 'sessions.db'}"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'sessions.db'}"


@pytest.fixture
async def amanager(store_url: str) -> AsyncIterator[tl.AsyncSessionManager]:
    async with tl.AsyncSessionManager(store_url) as manager:
        yield manager


@pytest.fixture
def manager(store_url: str) -> Iterator[tl.SessionManager]:
    with tl.SessionManager(store_url) as manager:
        yield manager
