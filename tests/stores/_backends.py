"""The one place the store tests turn a backend name into a store object.

The conformance suite runs every assertion on each backend; `make_store` is the only
line that names store classes, so switching the suite to another face or to
``open_async_store(url)`` is one edit here. The other helpers reach under a store
(its tables or keys) to damage rows and to read which migrations ran: things no
store API offers, on purpose.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

BACKENDS = ("memory", "sqlite", "postgres", "redis")
DURABLE = ("sqlite", "postgres", "redis")


def make_store(backend: str, url: str) -> Any:
    """A new async store object of ``backend`` on the data ``url`` names."""
    if backend == "memory":
        from threadline.stores import AsyncMemoryStore

        return AsyncMemoryStore()
    if backend == "sqlite":
        from threadline.stores import AsyncSQLiteStore

        return AsyncSQLiteStore(url.removeprefix("sqlite:///"))
    if backend == "postgres":
        from threadline.stores._postgres_async import AsyncPostgresStore

        return AsyncPostgresStore.from_url(url)
    if backend == "redis":
        from threadline.stores._redis_async import AsyncRedisStore

        return AsyncRedisStore.from_url(url)
    raise ValueError(backend)


@dataclass(frozen=True)
class Backend:
    """A backend name and the URL of the fresh data a test may use."""

    name: str
    url: str

    def open(self) -> Any:
        """A new store object on this data (for memory: a new, empty store)."""
        return make_store(self.name, self.url)


def make_sync_store(backend: str, url: str) -> Any:
    """The blocking face of `make_store`."""
    if backend == "memory":
        from threadline.stores import MemoryStore

        return MemoryStore()
    if backend == "sqlite":
        from threadline.stores import SQLiteStore

        return SQLiteStore(url.removeprefix("sqlite:///"))
    if backend == "postgres":
        from threadline.stores._postgres_sync import PostgresStore

        return PostgresStore.from_url(url)
    if backend == "redis":
        from threadline.stores._redis_sync import RedisStore

        return RedisStore.from_url(url)
    raise ValueError(backend)


def _pg(url: str) -> tuple[str, str]:
    """The plain connection URL and the schema of a Postgres store URL."""
    parts = urlsplit(url)
    options = dict(parse_qsl(parts.query))
    return urlunsplit(parts._replace(query="")), options.get("schema", "public")


def _redis(url: str) -> tuple[Any, str]:
    import redis

    parts = urlsplit(url)
    options = dict(parse_qsl(parts.query))
    client = redis.Redis.from_url(urlunsplit(parts._replace(query="")))
    return client, options.get("key_prefix", "threadline")


def corrupt_record(backend: str, url: str, session_id: str) -> None:
    """Overwrite a session's stored record with text that is not a record."""
    if backend == "sqlite":
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            db.execute("UPDATE sessions SET data = '{not json' WHERE id = ?", (session_id,))
    elif backend == "postgres":
        import psycopg

        conn_url, schema = _pg(url)
        with psycopg.connect(conn_url, autocommit=True) as conn:
            conn.execute(
                f'UPDATE "{schema}".threadline_sessions SET data = %s WHERE id = %s',
                ('{"id": 7}', session_id),
            )
    elif backend == "redis":
        client, prefix = _redis(url)
        with client:
            client.hset(f"{prefix}:s:{session_id}", "data", "{not json")
    else:
        raise ValueError(f"{backend} keeps objects, not rows")


def corrupt_message(backend: str, url: str, session_id: str, seq: int) -> None:
    """Overwrite one stored message with text that is not a message."""
    if backend == "sqlite":
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            db.execute(
                "UPDATE messages SET data = '[1,2' WHERE session_id = ? AND seq = ?",
                (session_id, seq),
            )
    elif backend == "postgres":
        import psycopg

        conn_url, schema = _pg(url)
        with psycopg.connect(conn_url, autocommit=True) as conn:
            conn.execute(
                f"UPDATE \"{schema}\".threadline_messages SET data = '[1,2'"
                " WHERE session_id = %s AND seq = %s",
                (session_id, seq),
            )
    elif backend == "redis":
        client, prefix = _redis(url)
        with client:
            client.lset(f"{prefix}:m:{session_id}", seq, "[1,2")
    else:
        raise ValueError(f"{backend} keeps objects, not rows")


def recorded_migrations(backend: str, url: str) -> list[str]:
    """The migrations the store's own record says ran, in order (with repeats)."""
    if backend == "sqlite":
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            rows = db.execute("SELECT name FROM threadline_migrations ORDER BY number").fetchall()
        return [r[0] for r in rows]
    if backend == "postgres":
        import psycopg

        conn_url, schema = _pg(url)
        with psycopg.connect(conn_url) as conn:
            rows = conn.execute(
                f'SELECT name FROM "{schema}".threadline_migrations ORDER BY number'
            ).fetchall()
        return [r[0] for r in rows]
    if backend == "redis":
        client, prefix = _redis(url)
        with client:
            entries = client.hgetall(f"{prefix}:migrations")
        ordered = sorted(entries.items(), key=lambda kv: int(kv[0]))
        return [value.decode().split(" ")[0] for _, value in ordered]
    raise ValueError(backend)
