# GENERATED from src/threadline/stores/_redis_async.py by scripts/gen_sync.py: do not edit.
# Edit the async source and run `make generate`.
"""``redis://`` and ``rediss://``: sessions in Redis, for low-latency shared state.

redis-py with a blocking connection pool. A session is a hash (the record JSON and
the fields queries need) plus a list of message JSON; sorted sets index sessions by
user and for all users, by creation and last write, and by expiry. Every call is ONE
Lua script call (see ``_redis_scripts``), which checks version, owner and message
count before its first write: a stale handle writes nothing. TTL is kept logically,
not with Redis EXPIRE: an expired session must still answer `SessionExpiredError`
until cleanup, and cleanup needs the record to delete the provider's server-side state.

On first use the store refuses a server that can lose sessions silently: one with no
persistence at all (no AOF, no RDB snapshots) or a ``maxmemory-policy`` that evicts
keys without a TTL (``allkeys-*``). RDB snapshots alone are accepted with a warning.
``durability_check=warn`` logs instead of refusing; ``off`` skips the check (tests,
or servers where CONFIG is disabled). Redis Cluster is not supported (refused).

Options, from the URL query (the rest goes to redis-py, e.g. ``ssl_cert_reqs``):
``key_prefix`` (``threadline``), ``pool_max`` (50 connections), ``pool_timeout`` (5 s
to wait for one), ``connect_timeout`` (5 s), ``command_timeout`` (5 s; 0 for none),
``durability_check`` (``strict``). Commands are never retried automatically: a
repeated commit after a lost reply would report a conflict for a turn that was
written, so the call in flight gets `StoreError` and the next call reconnects.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
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
from ..messages import Message, SessionStatus
from . import _redis_scripts as lua
from ._rows import expired_entries, messages_from_rows, record_from_json, records_skipping_corrupt
from ._url_options import choice_option, float_option, int_option, parse_store_url
from .base import Page, SessionPage, SessionQuery, decode_cursor, encode_cursor, to_micros

try:
    import redis as redis_mod
    import redis.exceptions
    from redis.backoff import NoBackoff
    from redis.retry import Retry
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ConfigurationError(
        "the Redis store needs redis-py: pip install 'threadline[redis]'"
    ) from exc

logger = logging.getLogger("threadline")

OPTIONS = (
    "key_prefix",
    "pool_max",
    "pool_timeout",
    "connect_timeout",
    "command_timeout",
    "durability_check",
)
_LIST_BUDGET = 2000  # index entries one list call looks at before yielding the server


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _micros(value: datetime | None) -> str:
    return "" if value is None else str(to_micros(value))


class RedisStore:
    """The Redis store (see the module docstring for its URL options)."""

    kind = "redis"
    blocking_io = False

    def __init__(self, url: str) -> None:
        parsed = parse_store_url(url, ("redis", "rediss"), OPTIONS)
        self.url = parsed.shown
        self._secrets = parsed.secrets
        options = parsed.options
        self.prefix = options.get("key_prefix", "threadline")
        if not self.prefix or any(c.isspace() for c in self.prefix):
            raise ConfigurationError("store option key_prefix must be non-empty, no spaces")
        self._durability = choice_option(
            options, "durability_check", ("strict", "warn", "off"), "strict"
        )
        try:
            pool = redis_mod.BlockingConnectionPool.from_url(
                parsed.driver_url,
                max_connections=int_option(options, "pool_max", 50, minimum=1),
                timeout=float_option(options, "pool_timeout", 5.0),
                socket_connect_timeout=float_option(options, "connect_timeout", 5.0),
                socket_timeout=float_option(options, "command_timeout", 5.0),
                retry=Retry(NoBackoff(), 0),
            )
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(
                f"invalid Redis URL {self.url}: {self._secrets.scrub(str(exc))}"
            ) from None
        self._client = redis_mod.Redis(connection_pool=pool)
        self._scripts = {
            name: self._client.register_script(getattr(lua, name))
            for name in ("CREATE", "COMMIT", "GET", "DELETE", "EXPIRED", "LIST")
        }
        self._ready_done = False
        self._closed = False
        self._init_lock = threading.Lock()
        self.migrations_applied: list[str] = []

    @classmethod
    def from_url(cls, url: str) -> RedisStore:
        """The store a ``redis://`` or ``rediss://`` URL names."""
        return cls(url)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url} key_prefix={self.prefix}>"

    # -- keys and calls --------------------------------------------------------------

    def _key(self, kind: str, name: str = "") -> str:
        return f"{self.prefix}:{kind}:{name}" if name else f"{self.prefix}:{kind}"

    def _error(self, exc: BaseException, session_id: str | None) -> StoreError:
        what = f"session {session_id!r}" if session_id else "the store"
        detail = self._secrets.scrub(str(exc).strip() or type(exc).__name__)
        return StoreError(
            f"Redis store {self.url} failed on {what}: {type(exc).__name__}: {detail}",
            session_id=session_id,
        )

    def _run(self, script: str, session_id: str | None, keys: list[str], args: list[Any]) -> Any:
        self._ready()
        try:
            return self._scripts[script](keys=keys, args=args)
        except redis.exceptions.RedisError as exc:
            raise self._error(exc, session_id) from None

    def _ready(self) -> None:
        if self._ready_done:
            return
        with self._init_lock:
            if self._closed:
                raise StoreError(f"Redis store {self.url} is closed")
            if self._ready_done:
                return
            try:
                server = self._client.info("server")
                if server.get("redis_mode") == "cluster":
                    raise ConfigurationError("Redis Cluster is not supported by the Redis store")
                if self._durability != "off":
                    self._check_durability()
                self._migrate()
            except redis.exceptions.RedisError as exc:
                raise StoreError(
                    f"cannot use Redis at {self.url}: {type(exc).__name__}:"
                    f" {self._secrets.scrub(str(exc))}"
                ) from None
            self._ready_done = True

    def _check_durability(self) -> None:
        persistence = self._client.info("persistence")
        memory = self._client.info("memory")
        try:
            save = _text((self._client.config_get("save")).get("save") or "")
        except redis.exceptions.ResponseError:  # CONFIG disabled (managed services)
            save = ""
        problems = []
        if not persistence.get("aof_enabled") and not save.strip():
            problems.append("persistence is off (no AOF, no RDB snapshots): a restart loses it all")
        policy = str(memory.get("maxmemory_policy", "noeviction"))
        if policy.startswith("allkeys-") and int(memory.get("maxmemory", 0)) > 0:
            problems.append(f"maxmemory-policy {policy} can evict session keys")
        if not problems and not persistence.get("aof_enabled"):
            logger.warning(
                "Redis at %s persists by RDB snapshots only: a crash loses the sessions written"
                " since the last snapshot (enable appendonly for per-write durability)",
                self.url,
            )
        if not problems:
            return
        message = f"Redis at {self.url} can lose sessions: {'; '.join(problems)}"
        if self._durability == "strict":
            raise ConfigurationError(
                f"{message}. Fix the server (appendonly yes, maxmemory-policy noeviction) or"
                " add ?durability_check=warn to the store URL to accept the risk"
            )
        logger.warning("%s", message)

    def _migrate(self) -> None:
        raw = self._client.get(self._key("schema"))
        if raw is not None and int(raw) > lua.SCHEMA_VERSION:
            raise StoreError(
                f"Redis store {self.url} (prefix {self.prefix}) has schema version {int(raw)},"
                f" newer than this threadline knows ({lua.SCHEMA_VERSION}); upgrade threadline"
            )
        for number, name, body in lua.MIGRATIONS:
            # Each migration is one script: atomic, so it runs exactly once however many
            # processes open the store at the same moment.
            applied = self._client.eval(
                lua.MIGRATE % body,
                2,
                self._key("schema"),
                self._key("migrations"),
                self.prefix,
                number,
                f"{name} {datetime.now(UTC).isoformat()}",
            )
            if applied:
                self.migrations_applied.append(name)

    def _index_keys(self) -> list[str]:
        return [self._key("c"), self._key("u"), self._key("x")]

    def _session_keys(self, session_id: str) -> list[str]:
        return [self._key("s", session_id), self._key("m", session_id)]

    # -- protocol --------------------------------------------------------------------

    def create(self, record: SessionRecord, messages: Sequence[Message] = ()) -> None:
        keys = [*self._session_keys(record.id), self._key("c"), self._key("u"), self._key("x")]
        if record.user is not None:
            keys += [self._key("uc", record.user), self._key("uu", record.user)]
        args = [
            record.id,
            record.user or "",
            record.provider,
            record.status.value,
            record.version,
            to_micros(record.created_at),
            to_micros(record.updated_at),
            _micros(record.expires_at),
            record.message_count,
            record.model_dump_json(),
            *(m.model_dump_json() for m in messages),
        ]
        if not self._run("CREATE", record.id, keys, args):
            raise ValidationError(f"session id {record.id!r} is already taken")

    def get(self, session_id: str, *, user: str | None, now: datetime) -> SessionRecord:
        scoped = "0" if user is None else "1"
        found = self._run(
            "GET", session_id, [self._key("s", session_id)], [scoped, user or "", to_micros(now)]
        )
        if found[0] == 0:
            raise SessionNotFoundError(session_id)
        if found[0] == 1:
            raise SessionExpiredError(session_id)
        return record_from_json(session_id, found[1])

    def commit(
        self,
        record: SessionRecord,
        *,
        expected_version: int,
        append: Sequence[Message] = (),
        keep: int | None = None,
    ) -> None:
        keys = [*self._session_keys(record.id), self._key("u"), self._key("x")]
        if record.user is not None:
            keys.append(self._key("uu", record.user))
        args = [
            record.id,
            expected_version,
            record.version,
            record.status.value,
            to_micros(record.updated_at),
            _micros(record.expires_at),
            record.message_count,
            record.model_dump_json(),
            -1 if keep is None else keep,
            record.user or "",
            *(m.model_dump_json() for m in append),
        ]
        outcome = self._run("COMMIT", record.id, keys, args)
        if outcome[0] == 2:
            return
        if outcome[0] == 0:
            raise SessionNotFoundError(record.id)
        if outcome[0] == 1:
            raise ConcurrencyError(record.id, expected_version)
        if outcome[0] == 4:
            raise ValidationError(f"session {record.id!r}: a commit cannot change the owner")
        raise ValidationError(
            f"session {record.id!r} holds {outcome[1]} messages: keep={keep} plus"
            f" {len(append)} appended does not make message_count {record.message_count}"
        )

    def read_messages(
        self, session_id: str, *, after: int = 0, limit: int | None = None
    ) -> list[Message]:
        if limit == 0:
            return []
        self._ready()
        end = -1 if limit is None else after + limit - 1
        try:
            rows = self._client.lrange(self._key("m", session_id), after, end)
        except redis.exceptions.RedisError as exc:
            raise self._error(exc, session_id) from None
        return messages_from_rows(session_id, rows)

    def list_sessions(self, query: SessionQuery) -> SessionPage:
        updated = query.order_by == "updated"
        if query.user is None:
            index = self._key("u" if updated else "c")
        else:
            index = self._key("uu" if updated else "uc", query.user)
        max_score, after = "+inf", ""
        if query.cursor is not None:
            key, after = decode_cursor(query.cursor)
            max_score = str(key)
        want = query.limit + 1
        status = "" if query.status in (None, SessionStatus.EXPIRED) else query.status.value
        rows: list[tuple[str, bytes, int]] = []
        while True:
            args = [
                self.prefix,
                max_score,
                after,
                to_micros(query.now),
                "1" if query.status == SessionStatus.EXPIRED else "0",
                status,
                query.provider or "",
                want - len(rows),
                "updated" if updated else "created",
                _LIST_BUDGET,
            ]
            reply = self._run("LIST", None, [index], args)
            done, last_score, last_id, found = reply[0], reply[1], reply[2], reply[3:]
            for entry in found:
                session_id, key, data = entry.split(b" ", 2)
                rows.append((session_id.decode(), data, int(key)))
            if done or len(rows) >= want:
                break
            max_score, after = _text(last_score), _text(last_id)
        shown = rows[: query.limit]
        records = records_skipping_corrupt([(r[0], r[1]) for r in shown], self.url)
        page = Page[SessionRecord](records)
        if len(rows) > query.limit:
            page.next_cursor = encode_cursor(shown[-1][2], shown[-1][0])
        return page

    def delete(self, session_id: str, *, user: str | None) -> bool:
        args = ["0" if user is None else "1", user or "", self.prefix, session_id]
        return bool(self._run("DELETE", session_id, self._index_keys(), args))

    def delete_many(self, session_ids: Sequence[str]) -> int:
        if not session_ids:
            return 0
        args = ["0", "", self.prefix, *session_ids]
        return int(self._run("DELETE", None, self._index_keys(), args))

    def expired(self, now: datetime, limit: int = 500) -> list[tuple[str, SessionRecord | None]]:
        reply = self._run("EXPIRED", None, [self._key("x")], [to_micros(now), limit, self.prefix])
        return expired_entries(
            (_text(reply[i]), reply[i + 1] or None) for i in range(0, len(reply), 2)
        )

    def close(self) -> None:
        with self._init_lock:
            if self._closed:
                return
            self._closed = True
            self._ready_done = False
        self._client.close()
        self._client.connection_pool.disconnect()
