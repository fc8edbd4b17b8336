"""threadline's Postgres and Redis stores vs openai-agents' SQLAlchemySession and
RedisSession, on the same servers, in one run.

    .venv/bin/pip install 'openai-agents[sqlalchemy,redis]' asyncpg   # benchmark only
    .venv/bin/python benchmarks/server_store_bench.py                 # starts both servers
    .venv/bin/python benchmarks/server_store_bench.py --store postgresql://u@host/db \\
        --store 'redis://host:6379/0'                                # your servers

Without ``--store`` it starts a throwaway Postgres (default fsync, synchronous_commit
on) and Redis (appendonly yes, appendfsync everysec) with tests/_servers.py. Both
sides always share a server, so they run at the same durability.

Method: each comparison alternates sides round by round (A/B, B/A, ...), one warm-up
round each discarded; every operation is timed on its own; median and p90 over all.
Ratio = peer median / threadline median (higher is better for threadline).

* turn commit: what ``send()`` writes, at the store: one compare-and-set ``commit()``
  of the record plus the user and assistant messages, vs ``add_items([user,
  assistant])``; a fresh session per round on each side. (Whole ``send()`` through
  ``AsyncSessionManager`` with the echo provider is shown for information.)
* load 1,000: the record and its 1,000 messages (``get`` + ``read_messages``), parsed
  into ``Message`` objects, vs ``get_items()`` (``json.loads`` per item).
* list page: 50 sessions, newest first, among 100,000 sessions of 1,000 users: one
  user's first page, all users' first page, and a page from a cursor deep inside.
* 8 writers: 8 processes, each with its own store object, committing turns (read,
  then compare-and-set, re-read on conflict) on 8 sessions or all on one; then every
  message is counted: lost = expected - present, duplicated = present - distinct.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from _common import REPLY_TEXT, USER_TEXT, agents_items

import threadline as tl
from threadline._ids import new_id
from threadline._records import SessionRecord
from threadline.errors import ConcurrencyError
from threadline.messages import Message, messages_from_json, utcnow
from threadline.stores.base import SessionQuery

TARGETS = {"turn:postgres": 1.5, "turn:redis": 2.0}
LIST_TARGET_MS = 2.0
clock = time.perf_counter


def open_store(url: str) -> Any:
    if url.startswith(("postgresql://", "postgres://")):
        from threadline.stores._postgres_async import AsyncPostgresStore

        return AsyncPostgresStore.from_url(url)
    from threadline.stores._redis_async import AsyncRedisStore

    return AsyncRedisStore.from_url(url)


def with_option(url: str, option: str) -> str:
    return url + ("&" if "?" in url else "?") + option


def plain(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(query=""))


def next_turn(record: SessionRecord) -> tuple[SessionRecord, list[Message]]:
    pair = [Message.user(USER_TEXT), Message.assistant(REPLY_TEXT)]
    new = record.model_copy(
        update={
            "version": record.version + 1,
            "message_count": record.message_count + 2,
            "updated_at": utcnow(),
        }
    )
    return new, pair


class Samples(list[float]):
    def ms(self, q: float) -> float:
        ordered = sorted(self)
        return 1000 * ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


Batch = Callable[[Samples | None], Awaitable[None]]


async def interleave(rounds: int, sides: dict[str, Batch]) -> dict[str, Samples]:
    names = list(sides)
    for name in names:
        await sides[name](None)
    found = {name: Samples() for name in names}
    for r in range(rounds):
        for name in names[r % 2 :] + names[: r % 2]:
            gc.collect()
            await sides[name](found[name])
    return found


# -- peers -------------------------------------------------------------------------------


class Peer:
    """openai-agents' session class for the server, sharing one engine or client."""

    def __init__(self, url: str) -> None:
        self.kind = "postgres" if url.startswith("postgres") else "redis"
        tag = uuid.uuid4().hex[:8]
        if self.kind == "postgres":
            from agents.extensions.memory.sqlalchemy_session import SQLAlchemySession
            from sqlalchemy.ext.asyncio import create_async_engine

            parts = urlsplit(plain(url))
            self.engine = create_async_engine(
                urlunsplit(parts._replace(scheme="postgresql+asyncpg")), pool_size=10
            )
            self.name = "SQLAlchemySession (asyncpg)"
            tables = {"sessions_table": f"agents_{tag}_s", "messages_table": f"agents_{tag}_m"}
            self._first = True

            def make(sid: str) -> Any:
                session = SQLAlchemySession(
                    sid, engine=self.engine, create_tables=self._first, **tables
                )
                self._first = False
                return session

        else:
            import redis.asyncio
            from agents.extensions.memory.redis_session import RedisSession

            self.client = redis.asyncio.Redis.from_url(plain(url))
            self.name = "RedisSession"

            def make(sid: str) -> Any:
                return RedisSession(sid, redis_client=self.client, key_prefix=f"agents{tag}")

        self.make = make

    async def close(self) -> None:
        if self.kind == "postgres":
            await self.engine.dispose()
        else:
            await self.client.aclose()


# -- one server ------------------------------------------------------------------------


class Bench:
    def __init__(self, url: str, args: argparse.Namespace) -> None:
        self.kind = "postgres" if url.startswith("postgres") else "redis"
        tag = uuid.uuid4().hex[:8]
        option = f"schema=bench_{tag}" if self.kind == "postgres" else f"key_prefix=bench{tag}"
        self.url = with_option(url, option)
        self.args = args
        self.store = open_store(self.url)
        self.peer = Peer(url)
        self.rows: list[tuple[str, Samples, Samples | None, float | None]] = []
        self.notes: list[str] = []
        self.failed = False

    async def turn(self) -> None:
        n = self.args.per_round

        async def ours(samples: Samples | None) -> None:
            record = SessionRecord(id=new_id("ses"), provider="echo", model="echo-1")
            await self.store.create(record)
            for _ in range(n):
                new, pair = next_turn(record)
                started = clock()
                await self.store.commit(new, expected_version=record.version, append=pair)
                if samples is not None:
                    samples.append(clock() - started)
                record = new

        async def peer(samples: Samples | None) -> None:
            session = self.peer.make(uuid.uuid4().hex)
            for i in range(n):
                items = agents_items(i)
                started = clock()
                await session.add_items(items)
                if samples is not None:
                    samples.append(clock() - started)

        found = await interleave(self.args.rounds, {"ours": ours, "peer": peer})
        self.rows.append(
            ("turn commit: commit([u, a]) vs add_items", found["ours"], found["peer"],
             TARGETS[f"turn:{self.kind}"])
        )  # fmt: skip

        manager = tl.AsyncSessionManager(store=open_store(self.url))

        async def whole(samples: Samples | None) -> None:
            session = await manager.create("echo")
            for _ in range(n):
                started = clock()
                await session.send(USER_TEXT)
                if samples is not None:
                    samples.append(clock() - started)

        found.update(await interleave(self.args.rounds, {"whole": whole, "peer": peer}))
        await manager.aclose()
        self.rows.append(
            ("  whole turn: echo send() vs add_items", found["whole"], found["peer"], None)
        )

    async def load(self) -> None:
        history = [
            m for _ in range(500) for m in (Message.user(USER_TEXT), Message.assistant(REPLY_TEXT))
        ]
        record = SessionRecord(id="ses_load", provider="echo", model="echo-1", message_count=1000)
        await self.store.create(record, history)
        peer = self.peer.make("load-" + uuid.uuid4().hex)
        await peer.add_items([item for i in range(500) for item in agents_items(i)])
        reps = max(3, self.args.per_round // 5)

        async def ours(samples: Samples | None) -> None:
            for _ in range(reps):
                started = clock()
                got = await self.store.get("ses_load", user=None, now=utcnow())
                messages = await self.store.read_messages("ses_load", limit=got.message_count)
                if samples is not None:
                    samples.append(clock() - started)
            assert len(messages) == 1000

        async def theirs(samples: Samples | None) -> None:
            for _ in range(reps):
                started = clock()
                items = await peer.get_items()
                if samples is not None:
                    samples.append(clock() - started)
            assert len(items) == 1000

        found = await interleave(self.args.rounds, {"ours": ours, "peer": theirs})
        self.rows.append(
            ("load 1,000: get+read_messages vs get_items", found["ours"], found["peer"], None)
        )
        rows = [m.model_dump_json() for m in history]
        parse = Samples()
        for _ in range(reps * 3):
            started = clock()
            messages_from_json(rows)
            parse.append(clock() - started)
        self.notes.append(
            f"load: of which parsing 1,000 messages (messages_from_json, shared by every"
            f" store) {parse.ms(0.5):.1f} ms median"
        )

    async def list_page(self) -> None:
        total = self.args.sessions
        users = max(1, total // 100)  # 100 sessions each: 1,000 users at 100,000
        base = datetime(2026, 1, 1, tzinfo=UTC)
        started = clock()
        records = []
        for i in range(total):
            at = base + timedelta(seconds=i)
            records.append(
                SessionRecord(id=f"ses_l{i:07d}", user=f"user_{i % users}", provider="echo",
                              model="echo-1", created_at=at, updated_at=at)
            )  # fmt: skip
        if self.kind == "postgres":
            await self.copy_into_postgres(records)
        else:
            for i in range(0, total, 64):
                await asyncio.gather(*(self.store.create(r) for r in records[i : i + 64]))
            await self.settle_redis()
        self.notes.append(f"list: {total:,} sessions loaded in {clock() - started:.1f} s")
        now = utcnow()
        middle = (
            f"{int((base + timedelta(seconds=total // 2)).timestamp() * 1e6)}.ses_l{total // 2:07d}"
        )
        queries = {
            "list page: one user's newest 50": SessionQuery(now=now, user="user_7"),
            "list page: all users' newest 50": SessionQuery(now=now),
            "list page: all users, cursor halfway": SessionQuery(now=now, cursor=middle),
        }
        for label, query in queries.items():
            samples = Samples()
            for i in range(self.args.rounds * 10 + 5):
                t0 = clock()
                page = await self.store.list_sessions(query)
                if i >= 5:
                    samples.append(clock() - t0)
            assert len(page) == 50
            self.rows.append((label, samples, None, None))

    async def settle_redis(self) -> None:
        """Wait for the AOF rewrite the bulk load triggers (a fork and a full rewrite on
        a 2-CPU machine) to finish, as Postgres's ANALYZE settles it: steady state."""
        client = self.store._client
        waited = clock()
        while True:
            info = await client.info("persistence")
            busy = ("aof_rewrite_in_progress", "aof_rewrite_scheduled", "rdb_bgsave_in_progress")
            if not any(info.get(flag) for flag in busy):
                break
            await asyncio.sleep(0.2)
        self.notes.append(f"list: waited {clock() - waited:.1f} s for the AOF rewrite to finish")

    async def copy_into_postgres(self, records: list[SessionRecord]) -> None:
        """Bulk load with COPY (rows built by the store's own parameter code): the
        same rows ``create()`` writes, in seconds rather than minutes."""
        import psycopg

        from threadline.stores._postgres_sql import record_params

        columns = ("id", "user", "provider", "status", "version", "created", "updated",
                   "expires", "count", "data")  # fmt: skip
        table = f"{self.store._s}.threadline_sessions"
        async with await psycopg.AsyncConnection.connect(plain(self.url)) as conn:
            async with conn.cursor().copy(
                f"COPY {table} (id, user_id, provider, status, version, created_us,"
                " updated_us, expires_us, message_count, data) FROM STDIN"
            ) as copy:
                for record in records:
                    params = record_params(record)
                    await copy.write_row([params[c] for c in columns])
            await conn.execute(f"ANALYZE {table}")

    def writers(self) -> None:
        n, turns = self.args.writers, self.args.writer_turns
        context = multiprocessing.get_context("spawn")
        with context.Manager() as sync:
            for shared in (False, True):
                ids = ["ses_w_shared"] if shared else [f"ses_w_{w}" for w in range(n)]
                asyncio.run(create_all(self.url, ids))
                ready = sync.Barrier(n + 1)  # every writer connected, and the clock
                jobs = [(self.url, ids[0 if shared else w], w, turns, ready) for w in range(n)]
                with context.Pool(n) as pool:
                    pending = pool.starmap_async(writer, jobs)
                    ready.wait(120)
                    start = time.time()
                    results = pending.get(600)
                wall = max(end for _, end in results) - start
                conflicts = sum(c for c, _ in results)
                present, distinct = asyncio.run(count_messages(self.url, ids))
                expected = 2 * n * turns
                label = "one session" if shared else "distinct sessions"
                self.notes.append(
                    f"{n} writers, {label}: {n * turns / wall:,.0f} turns/s, {conflicts} conflicts,"
                    f" lost {expected - distinct}, duplicated {present - distinct}"
                )

    async def run(self) -> None:
        await self.turn()
        await self.load()
        await self.list_page()
        await self.store.close()
        await self.peer.close()


async def create_all(url: str, ids: list[str]) -> None:
    store = open_store(url)
    for session_id in ids:
        await store.create(SessionRecord(id=session_id, provider="echo", model="echo-1"))
    await store.close()


async def count_messages(url: str, ids: list[str]) -> tuple[int, int]:
    store = open_store(url)
    messages = [m for sid in ids for m in await store.read_messages(sid)]
    await store.close()
    return len(messages), len({m.id for m in messages})


def writer(url: str, session_id: str, w: int, turns: int, ready: Any) -> tuple[int, float]:
    async def run() -> tuple[int, float]:
        store = open_store(url)
        await store.get(session_id, user=None, now=utcnow())  # connect first
        ready.wait(120)
        conflicts = 0
        for _ in range(turns):
            while True:
                record = await store.get(session_id, user=None, now=utcnow())
                new, pair = next_turn(record)
                try:
                    await store.commit(new, expected_version=record.version, append=pair)
                    break
                except ConcurrencyError:
                    conflicts += 1
        end = time.time()
        await store.close()
        return conflicts, end

    return asyncio.run(run())


# -- report ------------------------------------------------------------------------------


async def server_settings(url: str) -> str:
    if url.startswith("postgres"):
        import psycopg

        async with await psycopg.AsyncConnection.connect(plain(url)) as conn:
            values = []
            for name in ("server_version", "fsync", "synchronous_commit"):
                row = await (await conn.execute(f"SHOW {name}")).fetchone()
                values.append(f"{name}={row[0] if row else '?'}")
            return "Postgres " + " ".join(values)
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(plain(url))
    info = await client.info("server")
    config = await client.config_get("append*")
    await client.aclose()
    return (
        f"Redis {info['redis_version']} appendonly={config.get('appendonly')}"
        f" appendfsync={config.get('appendfsync')}"
    )


def version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


def table(bench: Bench) -> list[str]:
    head = f"operation ({bench.kind})"
    out = [
        f"| {head:<46} | {'threadline':>15} | {bench.peer.name[:17]:>17} |  ratio | target |"
        " result |",
        f"| {'-' * 46} | {'-' * 15} | {'-' * 17} | ------ | ------ | ------ |",
    ]
    failed = False
    for label, ours, peer, target in bench.rows:
        mine = f"{ours.ms(0.5):.3f} / {ours.ms(0.9):.3f}"
        if peer is None:
            theirs, ratio_text = "-", "-"
            ok = ours.ms(0.5) <= LIST_TARGET_MS
            target_text, result = f"<= {LIST_TARGET_MS:g} ms", "PASS" if ok else "FAIL"
        else:
            ratio = statistics.median(peer) / statistics.median(ours)
            theirs, ratio_text = f"{peer.ms(0.5):.3f} / {peer.ms(0.9):.3f}", f"{ratio:.2f}x"
            ok = target is None or ratio >= target
            target_text = "info" if target is None else f">= {target:g}x"
            result = "info" if target is None else ("PASS" if ok else "FAIL")
        failed |= result == "FAIL"
        out.append(
            f"| {label:<46} | {mine:>15} | {theirs:>17} | {ratio_text:>6} | {target_text:>6} |"
            f" {result:<6} |"
        )
    bench.failed = failed
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", action="append", help="a postgresql:// or redis:// URL")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--per-round", type=int, default=50)
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--writer-turns", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="a smoke run: few rounds")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target fails")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.per_round, args.sessions, args.writer_turns = 2, 10, 2000, 10
    try:
        import agents  # noqa: F401
    except ImportError:
        sys.exit(
            "openai-agents is missing: .venv/bin/pip install 'openai-agents[sqlalchemy,redis]'"
        )
    servers: list[Any] = []
    urls = args.store
    if not urls:
        from _servers import PostgresServer, RedisServer

        servers = [PostgresServer(durable=True), RedisServer(durable=True)]
        urls = [servers[0].admin_url, servers[1].url]
    try:
        print("threadline server store benchmark\n")
        print(f"machine   {platform.platform()}; {multiprocessing.cpu_count()} CPUs")
        print(f"python    {platform.python_version()}")
        print(f"load      {os.getloadavg()[0]:.1f} (1-minute load average at the start)")
        packages = ["threadline", "openai-agents", "psycopg", "psycopg-pool", "redis", "hiredis",
                    "SQLAlchemy", "asyncpg", "pydantic"]  # fmt: skip
        print("packages  " + ", ".join(f"{p} {version(p)}" for p in packages))
        for url in urls:
            print("server    " + asyncio.run(server_settings(url)))
        print(
            f"method    {args.rounds} interleaved rounds (one warm-up each discarded);"
            f" {args.per_round} turns per round; {args.sessions:,} sessions listed;"
            f" {args.writers} writers x {args.writer_turns} turns\n"
        )
        print("times in ms: median / p90; ratio = peer median / threadline median\n")
        failed = False
        for url in urls:
            bench = Bench(url, args)
            asyncio.run(bench.run())
            bench.writers()
            print("\n".join(table(bench)))
            for note in bench.notes:
                print(f"  {note}")
            print()
            failed |= bench.failed
        print(f"load      {os.getloadavg()[0]:.1f} (1-minute load average at the end)")
    finally:
        for server in servers:
            server.remove()
    return 1 if failed and args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
