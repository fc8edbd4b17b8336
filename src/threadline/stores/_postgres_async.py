"""``postgresql://``: sessions in a Postgres database that many workers share.

The store a team moves to when one machine is not enough. psycopg 3 with a
connection pool; the session record and each message are text JSON (fetched three
times faster than jsonb). A turn's commit is ONE statement: an ``UPDATE … WHERE id =
… AND version = … RETURNING`` CTE that the message insert reads from, so a stale
version writes nothing and there is no transaction to hold open. Listing pages by
keyset (``(created_us, id) < cursor``) on indexes by user and across users.
Migrations run on first use under an advisory lock (see ``_postgres_migrations``).

Errors: an unreachable server, a failed statement or a timeout is a `StoreError`
quoting the URL with its password hidden. After a server restart the call that meets
the broken connection fails, the pool drops its dead connections, the next call works.

Options, from the URL query (the rest goes to libpq, e.g. ``sslmode``): ``schema``
(default ``public``), ``pool_min`` (1), ``pool_max`` (10), ``pool_timeout`` (5 s to
wait for a free connection), ``connect_timeout`` (5 s), ``command_timeout`` (30 s,
the server's ``statement_timeout``; 0 for none), ``prepare_threshold`` (5; ``none``
for poolers that cannot keep prepared statements). One store object serves one event
loop (its pool belongs to the loop that first used it).
"""

from __future__ import annotations

import asyncio  # sync: import threading
import math
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from .._records import SessionRecord
from ..errors import (
    ConcurrencyError,
    ConfigurationError,
    SessionExpiredError,
    SessionNotFoundError,
    StoreError,
    ValidationError,
)
from ..messages import Message
from ._postgres_migrations import LOCK_CLASS, bootstrap_sql, pending, quote_schema
from ._postgres_sql import record_params, statements
from ._rows import expired_entries, messages_from_rows, record_from_json, records_skipping_corrupt
from ._url_options import float_option, int_option, parse_store_url
from .base import Page, SessionPage, SessionQuery, encode_cursor, list_statement, to_micros

try:
    import psycopg
    import psycopg_pool
    from psycopg.rows import TupleRow
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ConfigurationError(
        "the Postgres store needs psycopg: pip install 'threadline[postgres]'"
    ) from exc

Connection = psycopg.AsyncConnection[TupleRow]
OPTIONS = (
    "schema",
    "pool_min",
    "pool_max",
    "pool_timeout",
    "connect_timeout",
    "command_timeout",
    "prepare_threshold",
)


class AsyncPostgresStore:
    """The Postgres store (see the module docstring for its URL options)."""

    kind = "postgres"
    blocking_io = False

    def __init__(self, url: str) -> None:
        parsed = parse_store_url(url, ("postgresql", "postgres"), OPTIONS)
        self.url = parsed.shown
        self._secrets = parsed.secrets
        options = parsed.options
        self.schema = options.get("schema", "public")
        self._s = quote_schema(self.schema)
        self._pool_min = int_option(options, "pool_min", 1)
        self._pool_max = int_option(options, "pool_max", 10, minimum=1)
        if self._pool_max < self._pool_min:
            raise ConfigurationError("store option pool_max must be at least pool_min")
        self._pool_timeout = float_option(options, "pool_timeout", 5.0) or 5.0
        connect_timeout = float_option(options, "connect_timeout", 5.0)
        command_timeout = float_option(options, "command_timeout", 30.0)
        threshold = options.get("prepare_threshold", "5")
        self._conninfo = parsed.driver_url
        try:
            libpq = psycopg.conninfo.conninfo_to_dict(self._conninfo)
        except psycopg.Error as exc:
            raise ConfigurationError(
                f"invalid Postgres URL {self.url}: {self._secrets.scrub(str(exc))}"
            ) from None
        server_options = [str(libpq["options"])] if libpq.get("options") else []
        if command_timeout is not None:
            server_options.append(f"-c statement_timeout={int(command_timeout * 1000)}")
        self._kwargs: dict[str, Any] = {
            "autocommit": True,
            "prepare_threshold": None
            if threshold.lower() == "none"
            else int_option(options, "prepare_threshold", 5),
        }
        if connect_timeout is not None:
            # libpq takes whole seconds and treats anything under 2 as 2.
            self._kwargs["connect_timeout"] = max(2, math.ceil(connect_timeout))
        if server_options:
            self._kwargs["options"] = " ".join(server_options)
        self._connect_timeout = connect_timeout or 30.0
        self._sql = statements(self._s)
        self._pool: psycopg_pool.AsyncConnectionPool[Connection] | None = None
        self._closed = False
        self._init_lock = asyncio.Lock()  # sync: self._init_lock = threading.Lock()
        self.migrations_applied: list[str] = []

    @classmethod
    def from_url(cls, url: str) -> AsyncPostgresStore:
        """The store a ``postgresql://`` or ``postgres://`` URL names."""
        return cls(url)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url} schema={self.schema}>"

    # -- connections -----------------------------------------------------------------

    def _error(self, exc: BaseException, session_id: str | None) -> StoreError:
        what = f"session {session_id!r}" if session_id else "the store"
        detail = self._secrets.scrub(str(exc).strip() or type(exc).__name__)
        return StoreError(
            f"Postgres store {self.url} failed on {what}: {type(exc).__name__}: {detail}",
            session_id=session_id,
        )

    async def _ready(self) -> psycopg_pool.AsyncConnectionPool[Connection]:
        if self._pool is not None:
            return self._pool
        async with self._init_lock:
            if self._closed:
                raise StoreError(f"Postgres store {self.url} is closed")
            if self._pool is None:
                try:
                    await self._migrate()
                    pool = psycopg_pool.AsyncConnectionPool(
                        self._conninfo,
                        kwargs=self._kwargs,
                        min_size=self._pool_min,
                        max_size=self._pool_max,
                        timeout=self._pool_timeout,
                        open=False,
                        name="threadline",
                    )
                    await pool.open(wait=True, timeout=self._connect_timeout)
                except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
                    raise StoreError(
                        f"cannot reach Postgres at {self.url}: {self._secrets.scrub(str(exc))}"
                    ) from None
                self._pool = pool
        return self._pool

    async def _migrate(self) -> None:
        """Apply missing migrations in one transaction under the advisory lock."""
        conn = await psycopg.AsyncConnection.connect(self._conninfo, **self._kwargs)
        try:
            async with conn.transaction():
                await conn.execute(
                    "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (LOCK_CLASS, self.schema)
                )
                found = await conn.execute(
                    "SELECT 1 FROM pg_namespace WHERE nspname = %s", (self.schema,)
                )
                if await found.fetchone() is None:
                    await conn.execute(f"CREATE SCHEMA {self._s}")
                found = await conn.execute(
                    "SELECT to_regclass(%s)", (f"{self._s}.threadline_migrations",)
                )
                row = await found.fetchone()
                if row is None or row[0] is None:  # DDL only when needed: least privilege
                    for statement in bootstrap_sql(self._s):
                        await conn.execute(statement)
                cur = await conn.execute(f"SELECT number FROM {self._s}.threadline_migrations")
                done = {row[0] for row in await cur.fetchall()}
                for number, name, fn in pending(done, f"Postgres store {self.url}"):
                    for statement in fn(self._s):
                        await conn.execute(statement)
                    await conn.execute(
                        f"INSERT INTO {self._s}.threadline_migrations (number, name)"
                        " VALUES (%s, %s)",
                        (number, name),
                    )
                    self.migrations_applied.append(name)
        finally:
            await conn.close()

    @asynccontextmanager
    async def _connection(self, session_id: str | None) -> AsyncIterator[Connection]:
        pool = await self._ready()
        try:
            async with pool.connection() as conn:
                yield conn
        except psycopg.Error as exc:
            if isinstance(exc, psycopg.OperationalError):
                # The server may have restarted: drop every dead idle connection now,
                # so that the next call gets a live one.
                await pool.check()
            raise self._error(exc, session_id) from None
        except (psycopg_pool.PoolTimeout, psycopg_pool.PoolClosed) as exc:
            raise self._error(exc, session_id) from None

    async def _fetch(self, session_id: str | None, sql: str, params: Any) -> list[TupleRow]:
        async with self._connection(session_id) as conn:
            cur = await conn.execute(sql, params)
            return await cur.fetchall()

    # -- protocol --------------------------------------------------------------------

    async def create(self, record: SessionRecord, messages: Sequence[Message] = ()) -> None:
        params = record_params(record)
        params["base"] = 0
        params["messages"] = [m.model_dump_json() for m in messages]
        rows = await self._fetch(record.id, self._sql["create"], params)
        if rows[0][0] != 1:
            raise ValidationError(f"session id {record.id!r} is already taken")

    async def get(self, session_id: str, *, user: str | None, now: datetime) -> SessionRecord:
        sql, params = self._sql["get"], [to_micros(now), session_id]
        if user is not None:
            sql += " AND user_id = %s"
            params.append(user)
        rows = await self._fetch(session_id, sql, params)
        if not rows:
            raise SessionNotFoundError(session_id)
        if rows[0][1]:
            raise SessionExpiredError(session_id)
        return record_from_json(session_id, rows[0][0])

    async def commit(
        self,
        record: SessionRecord,
        *,
        expected_version: int,
        append: Sequence[Message] = (),
        keep: int | None = None,
    ) -> None:
        base = record.message_count - len(append)
        if base < 0 or (keep is not None and base != keep):
            raise ValidationError(
                f"session {record.id!r}: message_count {record.message_count} does not match"
                f" keep={keep} plus {len(append)} appended"
            )
        params = record_params(record)
        params.update(
            expected=expected_version, base=base, messages=[m.model_dump_json() for m in append]
        )
        sql = self._sql["commit" if keep is None else "commit_restore"]
        async with self._connection(record.id) as conn:
            try:
                written = await (await conn.execute(sql, params)).fetchone()
            except psycopg.errors.UniqueViolation:
                # A message slot already taken: another writer got there first.
                raise ConcurrencyError(record.id, expected_version) from None
            if written is not None and written[0] == 1:
                return
            seen = await (await conn.execute(self._sql["probe"], (record.id,))).fetchone()
        if seen is None:
            raise SessionNotFoundError(record.id)
        if seen[0] == expected_version:
            raise ValidationError(
                f"session {record.id!r} holds {seen[1]} messages, not the {base} this commit"
                " builds on"
            )
        raise ConcurrencyError(record.id, expected_version)

    async def read_messages(
        self, session_id: str, *, after: int = 0, limit: int | None = None
    ) -> list[Message]:
        rows = await self._fetch(session_id, self._sql["read"], (session_id, after, limit))
        return messages_from_rows(session_id, [r[0] for r in rows])

    def list_sql(self, query: SessionQuery) -> tuple[str, list[Any]]:
        """The statement ``list_sessions`` runs (public so its plan can be checked)."""
        return list_statement(query, self._sql["sessions"], "%s")

    async def list_sessions(self, query: SessionQuery) -> SessionPage:
        sql, params = self.list_sql(query)
        rows = await self._fetch(None, sql, params)
        shown = rows[: query.limit]
        records = records_skipping_corrupt([(r[0], r[1]) for r in shown], self.url)
        page = Page[SessionRecord](records)
        if len(rows) > query.limit:
            page.next_cursor = encode_cursor(shown[-1][2], shown[-1][0])
        return page

    async def delete(self, session_id: str, *, user: str | None) -> bool:
        sql, params = self._sql["delete"], [session_id]
        if user is not None:
            sql += " AND user_id = %s"
            params.append(user)
        async with self._connection(session_id) as conn, conn.transaction():
            # Two statements: the second gets a fresh snapshot, so it also removes
            # messages a commit that finished while this one waited had added.
            removed = (await conn.execute(sql, params)).rowcount
            if removed:
                await conn.execute(self._sql["delete_messages"], (session_id,))
        return removed > 0

    async def delete_many(self, session_ids: Sequence[str]) -> int:
        if not session_ids:
            return 0
        ids = list(session_ids)
        async with self._connection(None) as conn, conn.transaction():
            removed = (await conn.execute(self._sql["delete_many"], (ids,))).rowcount
            await conn.execute(self._sql["delete_many_messages"], (ids,))
        return removed

    async def expired(
        self, now: datetime, limit: int = 500
    ) -> list[tuple[str, SessionRecord | None]]:
        rows = await self._fetch(None, self._sql["expired"], (to_micros(now), limit))
        return expired_entries((r[0], r[1]) for r in rows)

    async def close(self) -> None:
        async with self._init_lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()
