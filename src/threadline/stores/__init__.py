"""Session stores and the URL scheme that picks one.

``memory://``, ``sqlite:///relative.db`` / ``sqlite:////absolute.db``,
``postgresql://…`` (``postgres://``) and ``redis://…`` (``rediss://``); with no URL the
default is ``$THREADLINE_STORE``, else ``sessions.db`` in the user data directory. See
docs/stores.md for each URL's options.

Each backend has two classes, one per face: ``AsyncSQLiteStore`` for an
`AsyncSessionManager`, ``SQLiteStore`` for a `SessionManager` (the second is generated
from the first, see docs/architecture.md).
"""

from __future__ import annotations

import os
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from .._concurrency import ASYNC_FACE, SYNC_FACE, Face
from ..errors import ConfigurationError
from ._protocol_async import AsyncStore
from ._protocol_sync import Store
from .base import Page, SessionPage, SessionQuery

if TYPE_CHECKING:
    from ._memory_async import AsyncMemoryStore
    from ._memory_sync import MemoryStore
    from ._postgres_async import AsyncPostgresStore
    from ._postgres_sync import PostgresStore
    from ._redis_async import AsyncRedisStore
    from ._redis_sync import RedisStore
    from ._sqlite_async import AsyncSQLiteStore
    from ._sqlite_sync import SQLiteStore

__all__ = [
    "AsyncMemoryStore",
    "AsyncPostgresStore",
    "AsyncRedisStore",
    "AsyncSQLiteStore",
    "AsyncStore",
    "MemoryStore",
    "Page",
    "PostgresStore",
    "RedisStore",
    "SQLiteStore",
    "SessionPage",
    "SessionQuery",
    "Store",
    "default_store_url",
    "open_async_store",
    "open_store",
]

_CLASSES = {
    "AsyncMemoryStore": "._memory_async",
    "MemoryStore": "._memory_sync",
    "AsyncSQLiteStore": "._sqlite_async",
    "SQLiteStore": "._sqlite_sync",
    "AsyncPostgresStore": "._postgres_async",
    "PostgresStore": "._postgres_sync",
    "AsyncRedisStore": "._redis_async",
    "RedisStore": "._redis_sync",
}


def __getattr__(name: str) -> Any:
    if name in _CLASSES:
        return getattr(import_module(_CLASSES[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def default_store_url() -> str:
    """``$THREADLINE_STORE``, else a SQLite file in the platform's user data dir."""
    if url := os.environ.get("THREADLINE_STORE"):
        return url
    from platformdirs import user_data_dir

    return "sqlite:///" + str(Path(user_data_dir("threadline", appauthor=False)) / "sessions.db")


def open_store(url: str | None = None) -> Store:
    """Open the store a URL names, for a blocking `SessionManager`."""
    store: Store = _open(url, SYNC_FACE)
    return store


def open_async_store(url: str | None = None) -> AsyncStore:
    """Open the store a URL names, for an `AsyncSessionManager`."""
    store: AsyncStore = _open(url, ASYNC_FACE)
    return store


def _class(module: str, name: str, face: Face) -> Any:
    prefix = "Async" if face == ASYNC_FACE else ""
    return getattr(import_module(f"{module}_{face}", __name__), prefix + name)


def _open(url: str | None, face: Face) -> Any:
    url = url or default_store_url()
    scheme, has_scheme, _ = url.partition("://")
    if not has_scheme:
        raise ConfigurationError(f"store URL {url!r} needs a scheme such as sqlite:// or memory://")
    if scheme == "memory":
        return _class("._memory", "MemoryStore", face)()
    if scheme == "sqlite":
        parts = urlsplit(url)
        path = url[len("sqlite:///") :].split("?", 1)[0] if url.startswith("sqlite:///") else ""
        if not path:
            raise ConfigurationError(
                f"store URL {url!r} names no file: use sqlite:///relative.db or sqlite:////abs.db"
            )
        options = dict(parse_qsl(parts.query))
        unknown = set(options) - {"synchronous", "mode"}
        if unknown:
            raise ConfigurationError(
                f"unknown SQLite store option(s): {', '.join(sorted(unknown))}"
            )
        if options.get("mode", "rw") not in ("ro", "rw"):
            raise ConfigurationError("the SQLite mode option is 'ro' (read-only) or 'rw'")
        cls = _class("._sqlite", "SQLiteStore", face)
        return cls(
            path,
            synchronous=options.get("synchronous", "FULL"),
            read_only=True if options.get("mode") == "ro" else None,
        )
    if scheme in ("postgresql", "postgres"):
        return _class("._postgres", "PostgresStore", face).from_url(url)
    if scheme in ("redis", "rediss"):
        return _class("._redis", "RedisStore", face).from_url(url)
    raise ConfigurationError(
        f"unknown store scheme {scheme!r}: use memory://, sqlite://, postgresql:// or redis://"
    )
