"""pytest plugin: the Postgres and Redis servers the store tests run against.

The Postgres and Redis stores are tested on real servers, never on fakes. Each server
is started once per run, on the first test that needs it, on a free loopback port with
durability off (``fsync=off``; Redis without snapshots or AOF), and stopped at the end.
A server that cannot start FAILS the tests that need it: a missing server must never
look like a green run. ``make services`` installs the Debian packages.

To use servers you already run, point at them (the Postgres role must be allowed to
create databases and roles; everything the tests write lives in databases, schemas,
roles and key prefixes they create and remove; two tests restart a server they
started, or else end the store's connections)::

    THREADLINE_TEST_POSTGRES_URL=postgresql://user:pw@127.0.0.1:5432/postgres
    THREADLINE_TEST_REDIS_URL=redis://127.0.0.1:6379/0

Every test gets its own fresh schema (Postgres: ~1 ms, where a database takes 0.15 s)
or key prefix (Redis); the concurrent-first-open test creates a whole new database.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

POSTGRES_ENV = "THREADLINE_TEST_POSTGRES_URL"
REDIS_ENV = "THREADLINE_TEST_REDIS_URL"
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_port(port: int, deadline: float) -> bool:
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return True
        time.sleep(0.02)
    return False


class PostgresServer:
    """A throwaway cluster run as user ``postgres`` (Postgres refuses to run as root).

    ``durable=True`` keeps Postgres's default fsync (the benchmark runs so)."""

    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable
        self.managed = os.environ.get(POSTGRES_ENV) is None
        self._stack = contextlib.ExitStack()
        self._test_database: str | None = None
        if not self.managed:
            self.admin_url = os.environ[POSTGRES_ENV]
            return
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        pg_ctl = binaries[-1] if binaries else shutil.which("pg_ctl")
        if pg_ctl is None:
            raise RuntimeError(f"no pg_ctl found: run `make services` or set {POSTGRES_ENV}")
        self.bin = Path(pg_ctl).parent
        self.port = free_port()
        self.data = Path(tempfile.mkdtemp(prefix="threadline-pg-"))
        self.log = self.data / "server.log"
        self.cluster = self.data / "cluster"
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres", "postgres")
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.cluster),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        self.admin_url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.start()

    def _run(self, *argv: str) -> None:
        if os.geteuid() == 0:
            argv = ("runuser", "-u", "postgres", "--", *argv)
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tail = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(argv)} failed ({result.returncode}): {result.stderr[-2000:]}\n{tail}"
            )

    def start(self) -> None:
        options = (
            f"-c port={self.port} -c listen_addresses=127.0.0.1 -c max_connections=300"
            f" -c unix_socket_directories={self.data}"
        )
        if not self.durable:
            options += " -c fsync=off -c full_page_writes=off"
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.cluster), "-l", str(self.log),
            "-o", options, "-w", "-t", str(int(START_TIMEOUT)), "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.cluster), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        """Stop the server abruptly (as a crash would) and start it again."""
        self.stop("immediate")
        self.start()

    def remove(self) -> None:
        self._stack.close()
        if not self.managed:
            return
        with contextlib.suppress(RuntimeError):
            self.stop("immediate")
        shutil.rmtree(self.data, ignore_errors=True)

    def url_for(self, database: str) -> str:
        parts = urlsplit(self.admin_url)
        return urlunsplit(parts._replace(path="/" + database))

    @contextlib.contextmanager
    def fresh_database(self) -> Iterator[str]:
        """A new empty database (~0.15 s to create); dropped afterwards."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:16]
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield self.url_for(name)
        finally:
            with psycopg.connect(self.admin_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @contextlib.contextmanager
    def fresh_schema(self) -> Iterator[str]:
        """A store URL with a schema of its own (~1 ms) in the run's test database.

        The store creates its schema on first use, like the tables in it; a schema is
        to one database what a key prefix is to one Redis.
        """
        import psycopg

        if self._test_database is None:
            self._test_database = self._stack.enter_context(self.fresh_database())
        name = "t_" + uuid.uuid4().hex[:16]
        try:
            yield f"{self._test_database}?schema={name}"
        finally:
            with psycopg.connect(self._test_database, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


class RedisServer:
    """A ``redis-server`` without persistence, on a free loopback port.

    ``durable=True`` turns the append-only file on (``appendfsync everysec``)."""

    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable
        self.managed = os.environ.get(REDIS_ENV) is None
        self.process: subprocess.Popen[bytes] | None = None
        if not self.managed:
            self.url = os.environ[REDIS_ENV]
            return
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(f"no redis-server found: run `make services` or set {REDIS_ENV}")
        self.binary = binary
        self.port = free_port()
        self.data = Path(tempfile.mkdtemp(prefix="threadline-redis-"))
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self) -> None:
        argv = [
            self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
            "--appendonly", "yes" if self.durable else "no", "--appendfsync", "everysec",
            "--dir", str(self.data), "--logfile", "server.log",
        ]  # fmt: skip
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if not _wait_for_port(self.port, time.monotonic() + START_TIMEOUT):
            self.stop()
            log = self.data / "server.log"
            raise RuntimeError(
                f"redis-server did not start on port {self.port}: "
                + (log.read_text()[-2000:] if log.exists() else "")
            )

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
            if self.process.stderr is not None:
                self.process.stderr.close()
            self.process = None

    def restart(self) -> None:
        """Stop the server and start it again (without persistence: empty again)."""
        self.stop()
        self.start()

    def freeze(self) -> None:
        """Suspend the server (SIGSTOP): commands sent now wait for a reply."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def crash_and_restart(self) -> None:
        """Kill the (frozen) server outright, as a crash would, and start it again."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)
        if self.process.stderr is not None:
            self.process.stderr.close()
        self.process = None
        self.start()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.data, ignore_errors=True)

    @contextlib.contextmanager
    def fresh_prefix(self) -> Iterator[str]:
        """A key prefix no other test uses; its keys are removed afterwards."""
        import redis

        prefix = "t" + uuid.uuid4().hex[:16]
        try:
            yield prefix
        finally:
            with redis.Redis.from_url(self.url) as client:
                keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
                for start in range(0, len(keys), 500):
                    client.unlink(*keys[start : start + 500])


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The run's Postgres server (started on first use). Fails, never skips."""
    try:
        server = PostgresServer()
    except (RuntimeError, OSError) as exc:
        pytest.fail(f"cannot start Postgres for the store tests: {exc}", pytrace=False)
    yield server
    server.remove()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """The run's Redis server (started on first use). Fails, never skips."""
    try:
        server = RedisServer()
    except (RuntimeError, OSError) as exc:
        pytest.fail(f"cannot start Redis for the store tests: {exc}", pytrace=False)
    yield server
    if server.managed:
        server.remove()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A Postgres store URL with a fresh schema of its own (see `fresh_schema`)."""
    with postgres_server.fresh_schema() as url:
        yield url


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """A Redis store URL with a fresh key prefix, persistence check off (test server)."""
    with redis_server.fresh_prefix() as prefix:
        sep = "&" if "?" in redis_server.url else "?"
        yield f"{redis_server.url}{sep}key_prefix={prefix}&durability_check=off"
