"""What only the server stores do: URL options, hidden passwords, unreachable and
restarted servers, schema versions, query plans, and Redis's durability guard.

The contract every store shares is in ``test_conformance*.py``; these tests are about
the Postgres and Redis stores' own promises, on the run's real servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import redis

from _servers import PostgresServer, RedisServer, free_port
from threadline._records import SessionRecord
from threadline.errors import ConfigurationError, SessionNotFoundError, StoreError, ValidationError
from threadline.messages import Message
from threadline.stores._postgres_async import AsyncPostgresStore
from threadline.stores._postgres_sync import PostgresStore
from threadline.stores._redis_async import AsyncRedisStore
from threadline.stores._redis_sync import RedisStore
from threadline.stores.base import SessionQuery

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PASSWORD = "hunter2-s3cret"


def rec(session_id: str, **fields: Any) -> SessionRecord:
    return SessionRecord(id=session_id, provider="echo", model="echo-1", **fields)


def leaked(exc: BaseException, *texts: str) -> bool:
    shown = "".join(traceback.format_exception(exc)) + "".join(texts)
    return PASSWORD in shown


# -- Postgres ------------------------------------------------------------------------


async def test_postgres_options_size_the_pool_and_set_the_timeouts(postgres_url: str) -> None:
    url = f"{postgres_url}&pool_min=2&pool_max=3&pool_timeout=1.5&command_timeout=2"
    store = AsyncPostgresStore.from_url(url + "&application_name=tl-test")
    try:
        await store.create(rec("ses_a"))
        pool = store._pool
        assert pool is not None
        assert (pool.min_size, pool.max_size, pool.timeout) == (2, 3, 1.5)
        async with pool.connection() as conn:
            row = await (await conn.execute("SHOW statement_timeout")).fetchone()
            assert row == ("2s",)
            row = await (await conn.execute("SHOW application_name")).fetchone()
            assert row == ("tl-test",)
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("query", "complaint"),
    [
        ("pool_max=0", "pool_max must be at least 1"),
        ("pool_min=5&pool_max=2", "pool_max must be at least pool_min"),
        ("command_timeout=soon", "command_timeout must be seconds"),
        ("schema=Bad-Name", "must be lower-case letters"),
        ("colour=blue", 'invalid URI query parameter: "colour"'),
    ],
)
def test_postgres_bad_options_are_configuration_errors(query: str, complaint: str) -> None:
    with pytest.raises(ConfigurationError, match=complaint):
        AsyncPostgresStore(f"postgresql://u:{PASSWORD}@127.0.0.1:1/db?{query}")


async def test_postgres_password_is_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()  # nothing listens there
    for url in (
        f"postgresql://ann:{PASSWORD}@127.0.0.1:{port}/db?connect_timeout=2",
        f"postgres://ann@127.0.0.1:{port}/db?password={PASSWORD}&connect_timeout=2",
    ):
        store = AsyncPostgresStore(url)
        assert PASSWORD not in repr(store) and "***" in repr(store)
        with caplog.at_level(logging.DEBUG), pytest.raises(StoreError) as info:
            await store.get("ses_a", user=None, now=NOW)
        assert "cannot reach Postgres at" in str(info.value)
        assert info.value.__cause__ is None and info.value.__suppress_context__
        assert PASSWORD not in str(info.value.__context__)
        assert not leaked(info.value, caplog.text, repr(store))
        await store.close()


async def test_postgres_after_a_restart_one_call_fails_and_the_next_works(
    postgres_url: str, postgres_server: PostgresServer
) -> None:
    store = AsyncPostgresStore(postgres_url + "&pool_min=2")
    try:
        await store.create(rec("ses_a"), [Message.user("kept")])
        if postgres_server.managed:
            postgres_server.restart()  # an immediate stop, as in a crash
        else:  # a server we may not restart: end every connection of the store
            with psycopg.connect(postgres_server.admin_url, autocommit=True) as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = '' AND pid <> pg_backend_pid()"
                )
        with pytest.raises(StoreError, match="ses_a") as info:
            await store.get("ses_a", user=None, now=NOW)
        assert info.value.session_id == "ses_a"
        assert (await store.get("ses_a", user=None, now=NOW)).id == "ses_a"
        assert [m.text for m in await store.read_messages("ses_a")] == ["kept"]
    finally:
        await store.close()


async def test_postgres_refuses_a_schema_newer_than_it_knows(postgres_url: str) -> None:
    store = AsyncPostgresStore(postgres_url)
    await store.create(rec("ses_a"))
    await store.close()
    conn_url, schema = postgres_url.split("?schema=")
    with psycopg.connect(conn_url, autocommit=True) as conn:
        conn.execute(f'INSERT INTO "{schema}".threadline_migrations VALUES (99, %s)', ["m099"])
    newer = AsyncPostgresStore(postgres_url)
    with pytest.raises(StoreError, match="schema migration 99, newer than this threadline"):
        await newer.get("ses_a", user=None, now=NOW)
    await newer.close()


async def test_postgres_a_role_without_ddl_rights_uses_a_migrated_schema(
    postgres_url: str,
) -> None:
    """After the first open, a role with only SELECT/INSERT/UPDATE/DELETE works: an
    up-to-date schema needs no DDL."""
    owner = AsyncPostgresStore(postgres_url)
    await owner.create(rec("ses_a"))
    await owner.close()
    conn_url, schema = postgres_url.split("?schema=")
    role = f"app_{schema}"
    with psycopg.connect(conn_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'app-pw'")
        conn.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO {role}')
        conn.execute(
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO {role}'
        )
    parts = urlsplit(postgres_url)
    limited_url = urlunsplit(parts._replace(netloc=f"{role}:app-pw@{parts.hostname}:{parts.port}"))
    limited = AsyncPostgresStore(limited_url)
    try:
        assert (await limited.get("ses_a", user=None, now=NOW)).id == "ses_a"
        await limited.create(rec("ses_b"))
    finally:
        await limited.close()
        with psycopg.connect(conn_url, autocommit=True) as conn:
            conn.execute(f'REVOKE ALL ON ALL TABLES IN SCHEMA "{schema}" FROM {role}')
            conn.execute(f'REVOKE ALL ON SCHEMA "{schema}" FROM {role}')
            conn.execute(f"DROP ROLE {role}")


async def test_postgres_list_pages_read_an_index_without_sorting(postgres_url: str) -> None:
    """Keyset pages come straight off an index (no Sort node), by user and across
    users, by creation and by last write, with and without a cursor."""
    store = AsyncPostgresStore(postgres_url)
    await store.create(rec("ses_seed"))
    conn_url, schema = postgres_url.split("?schema=")
    with psycopg.connect(conn_url, autocommit=True) as conn:
        conn.execute(
            f'INSERT INTO "{schema}".threadline_sessions SELECT'
            " 'ses_' || i, 'user_' || (i % 50), 'echo', 'active', 1, i, i, NULL, 0, '{}'"
            " FROM generate_series(1, 20000) AS i"
        )
        conn.execute(f'ANALYZE "{schema}".threadline_sessions')
        for user in ("user_7", None):
            for order_by in ("created", "updated"):
                for cursor in (None, "15000.ses_15000"):
                    query = SessionQuery(
                        now=NOW, user=user, order_by=order_by, limit=50, cursor=cursor
                    )
                    sql, params = store.list_sql(query)
                    plan = "\n".join(
                        r[0] for r in conn.execute("EXPLAIN " + sql, params).fetchall()
                    )
                    assert "Index" in plan and "Sort" not in plan, plan
    await store.close()


async def test_commit_refuses_a_count_that_does_not_add_up(
    postgres_url: str, redis_url: str
) -> None:
    for store in (AsyncPostgresStore(postgres_url), AsyncRedisStore(redis_url)):
        try:
            record = rec("ses_a", message_count=2)
            await store.create(record, [Message.user("a"), Message.user("b")])
            wrong = record.model_copy(update={"version": 2, "message_count": 5})
            with pytest.raises(ValidationError, match="ses_a"):
                await store.commit(wrong, expected_version=1, append=[Message.user("c")])
            with pytest.raises(ValidationError, match="ses_a"):
                await store.commit(wrong, expected_version=1, keep=3, append=[Message.user("c")])
            assert (await store.get("ses_a", user=None, now=NOW)).version == 1
            assert len(await store.read_messages("ses_a")) == 2
        finally:
            await store.close()


def test_the_sync_faces_work_on_the_same_data(postgres_url: str, redis_url: str) -> None:
    for sync_store, async_cls in (
        (PostgresStore(postgres_url), AsyncPostgresStore),
        (RedisStore(redis_url), AsyncRedisStore),
    ):
        assert not sync_store.blocking_io and async_cls.kind == sync_store.kind
        record = rec("ses_sync", user="ann", message_count=1)
        sync_store.create(record, [Message.user("hi")])
        new = record.model_copy(update={"version": 2, "message_count": 2})
        sync_store.commit(new, expected_version=1, append=[Message.assistant("hello")])
        assert sync_store.get("ses_sync", user="ann", now=NOW) == new
        page = sync_store.list_sessions(SessionQuery(now=NOW, user="ann"))
        assert [r.id for r in page] == ["ses_sync"]
        assert [m.text for m in sync_store.read_messages("ses_sync")] == ["hi", "hello"]
        assert sync_store.delete_many(["ses_sync"]) == 1
        sync_store.close()
        with pytest.raises(StoreError, match="closed"):
            sync_store.get("ses_sync", user=None, now=NOW)


# -- Redis -----------------------------------------------------------------------------


def _plain(redis_url: str) -> str:
    return redis_url.replace("&durability_check=off", "")


@pytest.fixture
def redis_admin(redis_server: RedisServer) -> Any:
    """A client to change the server's configuration; restored afterwards."""
    client = redis.Redis.from_url(redis_server.url)
    names = ("save", "appendonly", "maxmemory", "maxmemory-policy")
    saved = {name: client.config_get(name)[name] for name in names}
    yield client
    for name, value in saved.items():
        client.config_set(name, value)
    client.close()


async def test_redis_refuses_a_server_without_persistence(
    redis_url: str, redis_admin: Any, caplog: pytest.LogCaptureFixture
) -> None:
    redis_admin.config_set("save", "")
    redis_admin.config_set("appendonly", "no")
    store = AsyncRedisStore(_plain(redis_url))
    with pytest.raises(ConfigurationError, match="persistence is off") as info:
        await store.create(rec("ses_a"))
    assert "durability_check=warn" in str(info.value)
    await store.close()
    warned = AsyncRedisStore(_plain(redis_url) + "&durability_check=warn")
    with caplog.at_level(logging.WARNING, logger="threadline"):
        await warned.create(rec("ses_a"))
    assert "can lose sessions: persistence is off" in caplog.text
    await warned.close()


async def test_redis_refuses_eviction_and_warns_on_snapshots_only(
    redis_url: str, redis_admin: Any, caplog: pytest.LogCaptureFixture
) -> None:
    redis_admin.config_set("save", "3600 1")
    redis_admin.config_set("appendonly", "no")
    redis_admin.config_set("maxmemory", "1gb")
    redis_admin.config_set("maxmemory-policy", "allkeys-lru")
    store = AsyncRedisStore(_plain(redis_url))
    with pytest.raises(ConfigurationError, match="maxmemory-policy allkeys-lru can evict"):
        await store.get("ses_a", user=None, now=NOW)
    await store.close()
    redis_admin.config_set("maxmemory-policy", "volatile-lru")  # never touches our keys
    snapshots = AsyncRedisStore(_plain(redis_url))
    with caplog.at_level(logging.WARNING, logger="threadline"):
        await snapshots.create(rec("ses_a"))
    assert "persists by RDB snapshots only" in caplog.text
    await snapshots.close()
    caplog.clear()
    redis_admin.config_set("appendonly", "yes")
    durable = AsyncRedisStore(_plain(redis_url))
    with caplog.at_level(logging.WARNING, logger="threadline"):
        assert (await durable.get("ses_a", user=None, now=NOW)).id == "ses_a"
    assert caplog.text == ""
    await durable.close()


async def test_redis_keeps_ttl_logically_and_prefixes_apart(redis_url: str) -> None:
    store = AsyncRedisStore(redis_url)
    other = AsyncRedisStore(redis_url.replace("key_prefix=", "key_prefix=other"))
    try:
        await store.create(rec("ses_a", user="ann", expires_at=NOW), [Message.user("x")])
        with pytest.raises(SessionNotFoundError, match=r"^session 'ses_a' not found$"):
            await other.get("ses_a", user=None, now=NOW)
        client = store._client
        prefix = store.prefix
        # No Redis TTL: an expired session stays readable to the cleanup sweep.
        assert await client.ttl(f"{prefix}:s:ses_a") == -1
        assert await client.ttl(f"{prefix}:m:ses_a") == -1
        assert [i for i, _ in await store.expired(NOW)] == ["ses_a"]
        assert await client.get(f"{prefix}:schema") == b"1"
    finally:
        await store.close()
        await other.close()


async def test_redis_password_hidden_and_a_call_in_flight_at_a_crash_fails_alone(
    redis_url: str, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    store = AsyncRedisStore(f"redis://:{PASSWORD}@127.0.0.1:{port}/0?connect_timeout=1")
    assert PASSWORD not in repr(store)
    with caplog.at_level(logging.DEBUG), pytest.raises(StoreError) as info:
        await store.get("ses_a", user=None, now=NOW)
    assert "cannot use Redis at redis://:***@127.0.0.1" in str(info.value)
    assert info.value.__cause__ is None and not leaked(info.value, caplog.text)
    await store.close()

    live = AsyncRedisStore(redis_url)
    try:
        await live.create(rec("ses_a"))
        if redis_server.managed:
            # A call in flight when the server dies: sent, its reply never comes.
            redis_server.freeze()
            in_flight = asyncio.create_task(live.get("ses_a", user=None, now=NOW))
            await asyncio.sleep(0.2)
            assert not in_flight.done()
            redis_server.crash_and_restart()  # no persistence on the test server
            with pytest.raises(StoreError, match="ses_a") as failed:
                await in_flight
            assert failed.value.session_id == "ses_a"
        else:  # a server we may not restart: end every client connection instead
            await live._client.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no")
            with contextlib.suppress(StoreError):
                await live.get("ses_a", user=None, now=NOW)
        await live.create(rec("ses_b"))
        assert (await live.get("ses_b", user=None, now=NOW)).id == "ses_b"
    finally:
        await live.close()
