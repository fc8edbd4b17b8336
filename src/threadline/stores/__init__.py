"""Session stores and the URL scheme that picks one.

``memory://`` and ``sqlite:///relative.db`` / ``sqlite:////absolute.db`` are built in;
with no URL the default is ``$THREADLINE_STORE``, else ``sessions.db`` in the user
data directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from ..errors import ConfigurationError
from .base import Page, SessionPage, SessionQuery, Store
from .memory import MemoryStore

__all__ = [
    "MemoryStore",
    "Page",
    "SessionPage",
    "SessionQuery",
    "Store",
    "default_store_url",
    "open_store",
]


def default_store_url() -> str:
    """``$THREADLINE_STORE``, else a SQLite file in the platform's user data dir."""
    if url := os.environ.get("THREADLINE_STORE"):
        return url
    from platformdirs import user_data_dir

    return "sqlite:///" + str(Path(user_data_dir("threadline", appauthor=False)) / "sessions.db")


def open_store(url: str | None = None) -> Store:
    """Open the store a URL names (see the module docstring)."""
    url = url or default_store_url()
    scheme, has_scheme, _ = url.partition("://")
    if not has_scheme:
        raise ConfigurationError(f"store URL {url!r} needs a scheme such as sqlite:// or memory://")
    if scheme == "memory":
        return MemoryStore()
    if scheme == "sqlite":
        parts = urlsplit(url)
        path = url[len("sqlite:///") :].split("?", 1)[0] if url.startswith("sqlite:///") else ""
        if not path:
            raise ConfigurationError(
                f"store URL {url!r} names no file: use sqlite:///relative.db or sqlite:////abs.db"
            )
        options = dict(parse_qsl(parts.query))
        unknown = set(options) - {"synchronous"}
        if unknown:
            raise ConfigurationError(
                f"unknown SQLite store option(s): {', '.join(sorted(unknown))}"
            )
        from .sqlite import SQLiteStore

        return SQLiteStore(path, synchronous=options.get("synchronous", "FULL"))
    raise ConfigurationError(
        f"unknown store scheme {scheme!r}: use memory:// or sqlite:// "
        "(postgresql:// and redis:// arrive with their stores)"
    )
