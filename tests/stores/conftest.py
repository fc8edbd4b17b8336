"""Fixtures of the store tests: a backend (name + URL of fresh, empty data) and a store.

``backend`` runs a test on memory, SQLite, Postgres and Redis; ``durable_backend``
on the three that outlive their store object. Postgres and Redis come from the
servers of ``tests/_servers.py``, each test with its own schema or key prefix.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from _backends import BACKENDS, DURABLE, Backend


def _backend(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if name == "memory":
        return Backend(name, "memory://")
    if name == "sqlite":
        return Backend(name, f"sqlite:///{tmp_path / 'sessions.db'}")
    if name == "postgres":
        return Backend(name, request.getfixturevalue("postgres_url"))
    return Backend(name, request.getfixturevalue("redis_url"))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return _backend(request.param, request, tmp_path)


@pytest.fixture(params=DURABLE)
def durable_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return _backend(request.param, request, tmp_path)


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Any]:
    """An open async store of the backend under test; closed afterwards."""
    opened = backend.open()
    yield opened
    await opened.close()
