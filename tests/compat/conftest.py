"""Fixtures for the v1 shim tests: v1 storages, managers on them, the OpenAI fake.

Every test runs in its own working directory: v1's defaults write
``langswarm_sessions.db`` into the current directory, and legacy code relies on that.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import threadline as tl
from threadline_v1 import (
    InMemorySessionStorage,
    LangSwarmSessionManager,
    SQLiteSessionStorage,
    ThreadlineSessionStorage,
)
from threadline_v1 import manager as v1_manager
from threadline_v1 import storage as v1_storage

# The OpenAI fake lives with the provider tests; the shim is tested over it too.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "providers"))


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh working directory and no process-wide v1 defaults left behind."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(v1_storage, "_default_storage", None)
    monkeypatch.setattr(v1_manager, "_default_manager", None)


@pytest.fixture(params=["memory", "sqlite", "threadline"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[v1_storage.SessionStorage]:
    """Each v1 storage: v1's own two, and the one backed by a threadline store."""
    if request.param == "memory":
        yield InMemorySessionStorage()
    elif request.param == "sqlite":
        yield SQLiteSessionStorage(tmp_path / "v1.db")
    else:
        backed = ThreadlineSessionStorage(f"sqlite:///{tmp_path / 'threadline.db'}")
        yield backed
        backed.close()


@pytest.fixture
def manager(storage: v1_storage.SessionStorage) -> LangSwarmSessionManager:
    return LangSwarmSessionManager(storage=storage)


@pytest.fixture
def echo_manager() -> Iterator[LangSwarmSessionManager]:
    """A v1 manager whose turns run on threadline's offline echo provider."""
    manager = LangSwarmSessionManager(
        storage=InMemorySessionStorage(), providers=[tl.providers.EchoProvider()]
    )
    yield manager
    manager.close()
