"""threadline's SQLite sessions (sync and async API) vs openai-agents' ``SQLiteSession``.

Run by hand (``make bench`` installs openai-agents first; it is a benchmark-only
dependency, never a threadline dependency)::

    .venv/bin/pip install 'openai-agents>=0.3'
    .venv/bin/python benchmarks/store_bench.py [--quick] [--check] [--rounds 12]
    .venv/bin/python benchmarks/store_bench.py --store 'sqlite:////mnt/disk/x.db?synchronous=NORMAL'

``--store`` with a SQLite URL runs only the ``synchronous`` level it names, with the
database files in that file's directory. Any other URL (``postgresql://``,
``redis://``) is handed, with the same arguments, to ``benchmarks/server_store_bench.py``.

Method
------
* One run covers ``synchronous=FULL`` and ``synchronous=NORMAL``. At each level every
  side writes its own database file in one temporary directory, in WAL mode, and each
  side's pragmas are read back from its own connection before timing starts.
  openai-agents sets only WAL; the subclass below pins ``synchronous`` on each of its
  connections so both sides fsync alike. Each side keeps one connection to its file
  open throughout (as a server would), so closing a per-request handle never
  checkpoints the WAL. A bare ``sqlite3`` commit of two rows is timed before and after
  (the ``raw commit`` line): on a shared disk it shows what an fsync cost meanwhile.
* Three sides per operation: threadline's blocking ``tl.SessionManager`` (called from
  plain code, no event loop running), threadline's ``tl.AsyncSessionManager`` and
  openai-agents (both inside one long-lived event loop). Each operation runs in rounds
  that alternate the sides (A/B/C, the starting side rotating each round); one warm-up
  batch per side is discarded. Every single operation is timed with
  ``time.perf_counter()``; the table shows the median and the 90th percentile.
* Ratio = openai-agents median / threadline median: higher is better for threadline.
* Bytes per idle handle: tracemalloc, memory retained by N handles from
  ``manager.get()`` (history not loaded) vs N idle ``SQLiteSession`` objects.
* First manager: a fresh interpreter imports threadline, then times its first
  ``SessionManager(url)`` (the lazy store import, the connection, the schema).
* ``import threadline``: a fresh interpreter per run, ``time.perf_counter()`` around
  the import, with bytecode caches in place (as after ``pip install``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import inspect
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from _common import REPLY_TEXT, USER_TEXT, agents_items, source_state

import threadline as tl

HERE = Path(__file__).resolve().parent
SERVER_BENCH = HERE / "server_store_bench.py"


def _delegate_server_store() -> None:
    """``--store`` naming a server store: run the server-store benchmark instead."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--store", action="append", default=[])
    servers = [url for url in parser.parse_known_args()[0].store if not url.startswith("sqlite:")]
    if not servers:
        return
    if not SERVER_BENCH.exists():
        sys.exit(f"--store {servers[0]}: only sqlite:// URLs are benchmarked here")
    done = subprocess.run([sys.executable, str(SERVER_BENCH), *sys.argv[1:]], check=False)
    sys.exit(done.returncode)


if __name__ == "__main__":
    _delegate_server_store()

try:
    from agents.memory.sqlite_session import SQLiteSession
except ImportError:  # pragma: no cover - the benchmark's only extra dependency
    sys.exit("openai-agents is not installed: .venv/bin/pip install 'openai-agents>=0.3'")

LEVELS = ("FULL", "NORMAL")
FORBIDDEN_AT_IMPORT = ("openai", "anthropic", "google.genai", "tenacity", "typer", "rich")
HISTORY = 1000  # messages in the load and resume sessions


# Targets: the sync API at synchronous=FULL (issue 7). Ratios are openai-agents / threadline.
TARGETS = {"turn": 1.5, "load": 1.0, "resume": 4.0, "new": 3.0}
TARGET_HANDLE_BYTES = 1024
TARGET_FIRST_MANAGER_MS = 5.0
TARGET_IMPORT_S = 0.15

clock = time.perf_counter


def peer_class(level: str) -> type[SQLiteSession]:
    """openai-agents' SQLiteSession with ``synchronous`` pinned (WAL it sets itself)."""

    class PinnedSQLiteSession(SQLiteSession):
        @staticmethod
        def _configure_connection(conn: sqlite3.Connection) -> None:
            SQLiteSession._configure_connection(conn)
            conn.execute(f"PRAGMA synchronous = {level}")

    return PinnedSQLiteSession


def agents_history(turns: int) -> list[dict[str, Any]]:
    return [item for n in range(turns) for item in agents_items(n)]


# -- measurement helpers ---------------------------------------------------------------


class Samples:
    def __init__(self) -> None:
        self.values: list[float] = []

    def add(self, value: float) -> None:
        self.values.append(value)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def p90(self) -> float:
        ordered = sorted(self.values)
        return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


# A batch times its operations into the samples it is given (None: a warm-up batch).
# threadline's sync batches are plain functions; the async ones are coroutine functions.
Batch = Callable[[Samples | None], Awaitable[None] | None]


class Loop:
    """One event loop for the whole run: the async sides' batches run on it, the sync
    side's run in plain code between them (no loop running)."""

    def __init__(self) -> None:
        self.runner = asyncio.Runner()

    def run(self, batch: Batch, samples: Samples | None) -> None:
        result = batch(samples)
        if inspect.isawaitable(result):
            self.runner.run(_awaited(result))

    def __call__(self, work: Awaitable[Any]) -> Any:
        return self.runner.run(_awaited(work))

    def close(self) -> None:
        self.runner.close()


async def _awaited(work: Awaitable[Any]) -> Any:
    return await work


def interleave(loop: Loop, rounds: int, sides: dict[str, Batch]) -> dict[str, Samples]:
    """Warm every side up once, then ``rounds`` rounds of one batch per side, the
    starting side rotating (A/B/C, B/C/A, ...)."""
    names = list(sides)
    for name in names:
        loop.run(sides[name], None)
    found = {name: Samples() for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            gc.collect()
            loop.run(sides[name], found[name])
    return found


def pragmas(db: sqlite3.Connection) -> tuple[str, str]:
    journal = str(db.execute("PRAGMA journal_mode").fetchone()[0]).upper()
    level = int(db.execute("PRAGMA synchronous").fetchone()[0])
    return journal, ("OFF", "NORMAL", "FULL", "EXTRA")[level]


def raw_commit(root: Path, level: str, runs: int = 100) -> Samples:
    """Calibration: a bare ``sqlite3`` WAL commit of two small rows at ``level``, which
    is the floor under any turn (at FULL, mostly the disk's fsync)."""
    path = root / f"raw-{level.lower()}-{time.monotonic_ns()}.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute(f"PRAGMA synchronous = {level}")
    db.execute("CREATE TABLE t (k INTEGER, data TEXT)")
    samples = Samples()
    for n in range(runs + 10):
        started = clock()
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT INTO t VALUES (?, ?)", [(n, USER_TEXT), (n, REPLY_TEXT)])
        db.execute("COMMIT")
        if n >= 10:
            samples.add(clock() - started)
    db.close()
    return samples


def template_document() -> dict[str, Any]:
    """An ``export()`` document of an echo session with ``HISTORY`` messages."""
    with tl.SessionManager("memory://") as manager:
        session = manager.create("echo")
        for _ in range(HISTORY // 2):
            session.send(USER_TEXT)
        return session.export()


# -- the operations, at one synchronous level ------------------------------------------


class Level:
    def __init__(self, loop: Loop, root: Path, level: str, args: argparse.Namespace) -> None:
        self.loop = loop
        self.level = level
        self.rounds = args.rounds
        self.per_round = args.per_round
        self.reps = max(3, args.per_round // 5)  # slower operations: fewer per batch
        self.dir = root / level.lower()
        self.dir.mkdir()
        self.sync_url = f"sqlite:///{self.dir / 'threadline-sync.db'}?synchronous={level}"
        self.async_url = f"sqlite:///{self.dir / 'threadline-async.db'}?synchronous={level}"
        self.agents_path = self.dir / "agents.db"
        self.Peer = peer_class(level)
        self.sync = tl.SessionManager(self.sync_url)
        self.aio = tl.AsyncSessionManager(self.async_url)
        # threadline's long-lived managers keep a connection to their files open, as a
        # server would; so does this one for openai-agents' file. Closing a per-request
        # handle then never finds itself the last connection (which checkpoints the WAL).
        self.keeper = sqlite3.connect(self.agents_path)
        self.keeper.execute("PRAGMA journal_mode = WAL")
        self.keeper.execute("SELECT count(*) FROM sqlite_master").fetchall()
        self.counter = 0

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}"

    def check_durability(self) -> dict[str, tuple[str, str]]:
        found = {
            "threadline sync": pragmas(self.sync.store.db),  # type: ignore[attr-defined]
            "threadline async": pragmas(self.aio.store.db),  # type: ignore[attr-defined]
        }
        probe = self.Peer(self.next_id("probe"), self.agents_path)

        def read() -> tuple[str, str]:
            with probe._locked_connection() as conn:
                return pragmas(conn)

        # The connection add_items/get_items use lives on a worker thread.
        found["openai-agents"] = self.loop(asyncio.to_thread(read))
        probe.close()
        for side, (journal, level) in found.items():
            if (journal, level) != ("WAL", self.level):
                raise SystemExit(f"{side} runs journal_mode={journal} synchronous={level}")
        return found

    def run(self, sides: dict[str, Batch]) -> dict[str, Samples]:
        return interleave(self.loop, self.rounds, sides)

    # A whole turn ----------------------------------------------------------------------

    def turn(self) -> dict[str, Samples]:
        n = self.per_round

        def sync(samples: Samples | None) -> None:
            session = self.sync.create("echo")
            for _ in range(n):
                started = clock()
                session.send(USER_TEXT)
                if samples is not None:
                    samples.add(clock() - started)

        async def aio(samples: Samples | None) -> None:
            session = await self.aio.create("echo")
            for _ in range(n):
                started = clock()
                await session.send(USER_TEXT)
                if samples is not None:
                    samples.add(clock() - started)

        async def agents(samples: Samples | None) -> None:
            session = self.Peer(self.next_id("turn"), self.agents_path)
            try:
                for i in range(n):
                    items = agents_items(i)
                    started = clock()
                    await session.add_items(items)
                    if samples is not None:
                        samples.add(clock() - started)
            finally:
                session.close()

        return self.run({"sync": sync, "async": aio, "agents": agents})

    # get() + reading 1,000 messages ------------------------------------------------------

    def load(self, document: dict[str, Any]) -> dict[str, Samples]:
        reps = self.reps
        sync_id = self.sync.import_session(document).id
        async_id = self.loop(self.aio.import_session(document)).id
        peer = self.Peer(self.next_id("load"), self.agents_path)
        self.loop(peer.add_items(agents_history(HISTORY // 2)))
        assert len(self.sync.get(sync_id).messages) == HISTORY
        assert len(self.loop(peer.get_items())) == HISTORY

        def sync(samples: Samples | None) -> None:
            for _ in range(reps):
                started = clock()
                session = self.sync.get(sync_id)
                count = len(session.messages)
                if samples is not None:
                    samples.add(clock() - started)
            assert count == HISTORY

        async def aio(samples: Samples | None) -> None:
            for _ in range(reps):
                started = clock()
                session = await self.aio.get(async_id)
                count = len(session.messages)
                if samples is not None:
                    samples.add(clock() - started)
            assert count == HISTORY

        async def agents(samples: Samples | None) -> None:
            for _ in range(reps):
                started = clock()
                items = await peer.get_items()
                if samples is not None:
                    samples.add(clock() - started)
            assert len(items) == HISTORY

        try:
            return self.run({"sync": sync, "async": aio, "agents": agents})
        finally:
            peer.close()

    # Resume a 1,000-message session with a fresh manager, then its next turn -------------

    def resume(self, document: dict[str, Any]) -> dict[str, Samples]:
        """Each batch starts (untimed) from a new 1,000-message session whose first turn
        seeded the echo provider's simulated server; each timed operation is what a
        web request does: a fresh manager, ``get()``, ``send()``, ``close()``. The echo
        provider object is shared by the fresh managers so that its server state
        outlives them, as an OpenAI conversation outlives a process."""
        reps = self.reps
        sync_echo, async_echo = tl.providers.EchoProvider(), tl.providers.EchoProvider()

        def sync(samples: Samples | None) -> None:
            with tl.SessionManager(self.sync_url, providers=[sync_echo]) as manager:
                seeded = manager.import_session(document)
                seeded.send(USER_TEXT)  # seeds the server copy from the mirror
            for _ in range(reps):
                started = clock()
                manager = tl.SessionManager(self.sync_url, providers=[sync_echo])
                session = manager.get(seeded.id)
                session.send(USER_TEXT)
                manager.close()
                if samples is not None:
                    samples.add(clock() - started)
            # The turn continued the server copy: the history was never read.
            assert session._history is None, "resume + turn read the history"

        async def aio(samples: Samples | None) -> None:
            async with tl.AsyncSessionManager(self.async_url, providers=[async_echo]) as manager:
                seeded = await manager.import_session(document)
                await seeded.send(USER_TEXT)
            for _ in range(reps):
                started = clock()
                manager = tl.AsyncSessionManager(self.async_url, providers=[async_echo])
                session = await manager.get(seeded.id)
                await session.send(USER_TEXT)
                await manager.aclose()
                if samples is not None:
                    samples.add(clock() - started)
            assert session._history is None, "resume + turn read the history"

        async def agents(samples: Samples | None) -> None:
            session_id = self.next_id("resume")
            seed = self.Peer(session_id, self.agents_path)
            await seed.add_items(agents_history(HISTORY // 2 + 1))
            seed.close()
            for i in range(reps):
                items = agents_items(i)
                started = clock()
                session = self.Peer(session_id, self.agents_path)
                history = await session.get_items()
                await session.add_items(items)
                session.close()
                if samples is not None:
                    samples.add(clock() - started)
                assert len(history) >= HISTORY

        return self.run({"sync": sync, "async": aio, "agents": agents})

    # A new session and its first turn --------------------------------------------------

    def new(self) -> dict[str, Samples]:
        n = self.per_round

        def sync(samples: Samples | None) -> None:
            for _ in range(n):
                started = clock()
                session = self.sync.create("echo", user="bench")
                session.send(USER_TEXT)
                if samples is not None:
                    samples.add(clock() - started)

        async def aio(samples: Samples | None) -> None:
            for _ in range(n):
                started = clock()
                session = await self.aio.create("echo", user="bench")
                await session.send(USER_TEXT)
                if samples is not None:
                    samples.add(clock() - started)

        async def agents(samples: Samples | None) -> None:
            opened = []
            try:
                for _ in range(n):
                    session_id, items = self.next_id("new"), agents_items(0)
                    started = clock()
                    session = self.Peer(session_id, self.agents_path)
                    await session.add_items(items)
                    if samples is not None:
                        samples.add(clock() - started)
                    opened.append(session)
            finally:
                for session in opened:
                    session.close()

        return self.run({"sync": sync, "async": aio, "agents": agents})

    def close(self) -> None:
        self.sync.close()
        self.loop(self.aio.aclose())
        self.keeper.close()


# -- memory per idle handle ------------------------------------------------------------


@contextmanager
def traced() -> Iterator[Callable[[], int]]:
    """Bytes allocated and still held since entering (tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    try:
        yield lambda: tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()


def handle_bytes(loop: Loop, root: Path, count: int) -> dict[str, float]:
    """Retained bytes per idle handle: N sessions (one turn each), N ``get()`` handles."""
    url = f"sqlite:///{root / 'handles.db'}?synchronous=OFF"  # setup speed only
    with tl.SessionManager(url) as manager:
        ids = []
        for _ in range(count):
            session = manager.create("echo", user="bench")
            session.send(USER_TEXT)
            ids.append(session.id)
    Peer = peer_class("OFF")
    found: dict[str, float] = {}

    with tl.SessionManager(url) as manager:
        warm = [manager.get(i, user="bench") for i in ids[:10]]
        with traced() as held:
            handles = [manager.get(i, user="bench") for i in ids]
            gc.collect()
            found["sync"] = (held() - sys.getsizeof(handles)) / count
        del warm, handles

    async def aio() -> None:
        async with tl.AsyncSessionManager(url) as manager:
            warm = [await manager.get(i, user="bench") for i in ids[:10]]
            with traced() as held:
                handles = [await manager.get(i, user="bench") for i in ids]
                gc.collect()
                found["async"] = (held() - sys.getsizeof(handles)) / count
            del warm, handles

    loop(aio())

    warm_peers = [Peer(i, root / "agents-handles.db") for i in ids[:10]]
    with traced() as held:
        peers = [Peer(i, root / "agents-handles.db") for i in ids]
        gc.collect()
        found["agents"] = (held() - sys.getsizeof(peers)) / count
    for peer in peers + warm_peers:
        peer.close()
    return found


# -- fresh interpreters: first manager, import time ------------------------------------

_FIRST_MANAGER = """
import asyncio, json, sys, time
import threadline as tl
url, face = sys.argv[1], sys.argv[2]
cls = tl.SessionManager if face == "sync" else tl.AsyncSessionManager
started = time.perf_counter()
manager = cls(url)
elapsed = time.perf_counter() - started


async def first_turn():
    started = time.perf_counter()
    session = await manager.create("echo")
    await session.send("hello")
    took = time.perf_counter() - started
    await manager.aclose()
    return took


if face == "sync":
    started = time.perf_counter()
    manager.create("echo").send("hello")
    turn = time.perf_counter() - started
    manager.close()
else:
    turn = asyncio.run(first_turn())
print(json.dumps({"seconds": elapsed, "turn": turn}))
"""


def bytecode_env() -> dict[str, str]:
    env = dict(os.environ)
    # Like a pip-installed package: threadline's bytecode is cached, not recompiled.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, "-c", "import threadline"], env=env, check=True)
    return env


def first_manager(root: Path, level: str, runs: int) -> dict[tuple[str, str], Samples]:
    """``SessionManager(url)`` right after ``import threadline`` in a fresh interpreter,
    on a new file (creates the schema) and on an existing one; then, in the same
    interpreter, the first ``create()`` + ``send()`` (which builds the models' schemas:
    threadline defers that from import to first use)."""
    env = bytecode_env()
    existing = root / "first-existing.db"
    tl.SessionManager(f"sqlite:///{existing}?synchronous={level}").close()
    found: dict[tuple[str, str], Samples] = {}
    for n in range(runs):
        for face in ("sync", "async"):
            for file in ("new", "existing"):
                path = existing if file == "existing" else root / f"first-{face}-{n}.db"
                out = subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        _FIRST_MANAGER,
                        f"sqlite:///{path}?synchronous={level}",
                        face,
                    ],
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                )
                times = json.loads(out.stdout)
                found.setdefault((face, file), Samples()).add(times["seconds"])
                found.setdefault((face, file + " turn"), Samples()).add(times["turn"])
    return found


_IMPORT_PROBE = f"""
import json, sys, time
t = time.perf_counter()
import threadline
elapsed = time.perf_counter() - t
bad = [m for m in {FORBIDDEN_AT_IMPORT!r} if m in sys.modules]
print(json.dumps({{"seconds": elapsed, "forbidden": bad,
                   "otel": "opentelemetry" in sys.modules}}))
"""


def import_times(runs: int) -> tuple[Samples, list[str], bool]:
    env = bytecode_env()
    samples, forbidden, otel = Samples(), set(), False
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _IMPORT_PROBE],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(out.stdout)
        samples.add(result["seconds"])
        forbidden.update(result["forbidden"])
        otel = otel or result["otel"]
    return samples, sorted(forbidden), otel


# -- report ----------------------------------------------------------------------------


def machine(tmp: str) -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    fs = "?"
    try:
        mounts = [m.split() for m in Path("/proc/mounts").read_text().splitlines()]
        best = max((m for m in mounts if tmp.startswith(m[1])), key=lambda m: len(m[1]))
        fs = f"{best[2]} on {best[0]}"
    except (OSError, ValueError):
        pass

    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "?"

    return [
        f"machine   {platform.platform()}; {cpu}; {os.cpu_count()} CPUs",
        f"source    {source_state()}",
        f"python    {platform.python_version()} ({platform.python_implementation()}),"
        f" SQLite {sqlite3.sqlite_version}",
        f"temp dir  {tmp} ({fs})",
        f"packages  threadline {tl.__version__}, openai-agents {version('openai-agents')},"
        f" pydantic {version('pydantic')}",
    ]


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


WIDTHS = (48, 5, 6, 17, 17, 7, 8, 6)


def row(*cells: str) -> str:
    out = []
    for i, (cell, width) in enumerate(zip(cells, WIDTHS, strict=True)):
        out.append(f"{cell:<{width}}" if i in (0, 1, 2, 7) else f"{cell:>{width}}")
    return "| " + " | ".join(out) + " |"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f}"


def compared(
    op: str, face: str, level: str, ours: Samples, theirs: Samples, target: float | None
) -> str:
    ratio = theirs.median / ours.median
    result = "info" if target is None else ("PASS" if ratio >= target else "FAIL")
    return row(
        op,
        face,
        level,
        f"{ms(ours.median)} / {ms(ours.p90)}",
        f"{ms(theirs.median)} / {ms(theirs.p90)}",
        f"{ratio:.2f}x",
        "-" if target is None else f">= {target:g}x",
        result,
    )


OPERATIONS = {
    "turn": "whole turn: send() vs add_items([u, a])",
    "load": "get() + 1,000 messages vs get_items()",
    "resume": "resume 1,000 + next turn (fresh manager)",
    "new": "new session + first turn",
}


def run(args: argparse.Namespace) -> list[str]:
    levels, base = LEVELS, None
    if args.store:
        parts = urlsplit(args.store)
        options = dict(parse_qsl(parts.query))
        levels = (options.get("synchronous", "FULL").upper(),)
        path = args.store[len("sqlite:///") :].split("?", 1)[0]
        base = str(Path(path).expanduser().resolve().parent)
        Path(base).mkdir(parents=True, exist_ok=True)

    started_load = load_average()
    results: dict[str, dict[str, dict[str, Samples]]] = {}
    durability: dict[str, dict[str, tuple[str, str]]] = {}
    loop = Loop()
    with tempfile.TemporaryDirectory(prefix="threadline-bench-", dir=base) as name:
        root = Path(name)
        tmp_dir = name
        document = template_document()
        calibration = {level: [raw_commit(root, level)] for level in levels}
        try:
            for level in levels:
                bench = Level(loop, root, level, args)
                try:
                    durability[level] = bench.check_durability()
                    results[level] = {
                        "turn": bench.turn(),
                        "load": bench.load(document),
                        "resume": bench.resume(document),
                        "new": bench.new(),
                    }
                finally:
                    bench.close()
            for level in levels:
                calibration[level].append(raw_commit(root, level))
            handles = handle_bytes(loop, root, args.handles)
            first = first_manager(root, levels[0], args.first_runs)
        finally:
            loop.close()
    imports, forbidden, otel = import_times(args.import_runs)

    lines = ["threadline store benchmark", "", *machine(str(Path(tmp_dir).parent))]
    for level in levels:
        lines.append(
            f"durability {level}: "
            + "; ".join(f"{side} {j}/{s}" for side, (j, s) in durability[level].items())
            + " (journal_mode/synchronous read back from each side's own connection)"
        )
    lines += [
        f"method    {args.rounds} interleaved rounds per op (sync/async/agents, rotating;"
        f" one warm-up batch per side discarded); turns and new sessions:"
        f" {args.per_round} per batch, load and resume: {max(3, args.per_round // 5)}",
        f"load avg  {started_load} at start, {load_average()} at end (1/5/15 min)",
        "raw commit "
        + "; ".join(
            f"{level}: " + ", ".join(f"{ms(c.median)} / {ms(c.p90)}" for c in calibration[level])
            for level in levels
        )
        + " ms median / p90, before, after (bare sqlite3 WAL commit of 2 small rows)",
        "",
        "times in ms: median / p90 per operation; ratio = openai-agents median / threadline"
        " median (higher is better); targets apply to the sync API at FULL",
        "",
        row("operation", "API", "sync", "threadline", "openai-agents", "ratio", "target", "result"),
        row(*("-" * w for w in WIDTHS)),
    ]
    for op, label in OPERATIONS.items():
        for level in levels:
            for face in ("sync", "async"):
                found = results[level][op]
                target = TARGETS[op] if (face, level) == ("sync", "FULL") else None
                lines.append(compared(label, face, level, found[face], found["agents"], target))

    for face in ("sync", "async"):
        ours, theirs = handles[face], handles["agents"]
        target = face == "sync"
        lines.append(
            row(
                "bytes per idle handle (get() vs SQLiteSession)",
                face,
                "-",
                f"{ours:.0f} B",
                f"{theirs:.0f} B",
                f"{theirs / ours:.2f}x",
                f"<= {TARGET_HANDLE_BYTES} B" if target else "-",
                ("PASS" if ours <= TARGET_HANDLE_BYTES else "FAIL") if target else "info",
            )
        )
    for face in ("sync", "async"):
        for file in ("new", "existing"):
            found_first = first[(face, file)]
            # The target is the cost every process start pays: opening an existing
            # store. A new file adds its creation (file, WAL, schema: fsyncs), once.
            target = (face, file, levels[0]) == ("sync", "existing", "FULL")
            lines.append(
                row(
                    f"first manager, {file} file (ms, median / p90)",
                    face,
                    levels[0],
                    f"{ms(found_first.median)} / {ms(found_first.p90)}",
                    "-",
                    "-",
                    f"<= {TARGET_FIRST_MANAGER_MS:g} ms" if target else "-",
                    (
                        ("PASS" if found_first.median * 1000 <= TARGET_FIRST_MANAGER_MS else "FAIL")
                        if target
                        else "info"
                    ),
                )
            )
    for face in ("sync", "async"):
        for file in ("new", "existing"):
            found_turn = first[(face, file + " turn")]
            lines.append(
                row(
                    f"then first create() + send(), {file} file",
                    face,
                    levels[0],
                    f"{ms(found_turn.median)} / {ms(found_turn.p90)}",
                    "-",
                    "-",
                    "-",
                    "info",
                )
            )
    best, median = min(imports.values), imports.median
    ok = median <= TARGET_IMPORT_S and not forbidden
    lines.append(
        row(
            f"import threadline (s, best / median of {len(imports.values)})",
            "-",
            "-",
            f"{best:.3f} / {median:.3f}",
            "-",
            "-",
            f"<= {TARGET_IMPORT_S:g} s",
            "PASS" if ok else "FAIL",
        )
    )
    lines += [
        "",
        f"openai-agents sides: turn = add_items of the same two items on one open"
        f" SQLiteSession; load = get_items() of {HISTORY} items; resume = a new SQLiteSession"
        " object + get_items() + add_items() + close() per operation; new session ="
        " SQLiteSession(new id) + add_items([u, a])",
        f"idle handles: {args.handles} of each, tracemalloc, list itself excluded; first"
        f" manager: {args.first_runs} fresh interpreters per cell",
        f"import threadline loaded: {', '.join(forbidden) or 'none'} of"
        f" {', '.join(FORBIDDEN_AT_IMPORT)}; opentelemetry: {'yes' if otel else 'no'}",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rounds", type=int, default=12, help="interleaved rounds per op")
    parser.add_argument("--per-round", type=int, default=50, help="turns per batch")
    parser.add_argument("--import-runs", type=int, default=21, help="fresh interpreters")
    parser.add_argument("--first-runs", type=int, default=11, help="fresh interpreters")
    parser.add_argument("--handles", type=int, default=1000, help="idle handles measured")
    parser.add_argument("--store", help="a sqlite:// URL (its level and directory) or a server")
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run (3 rounds of 10, fewer of the rest)"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if a target fails")
    if parser.parse_known_args()[0].quick:  # new defaults; explicit options still win
        parser.set_defaults(rounds=3, per_round=10, import_runs=5, first_runs=3, handles=200)
    args = parser.parse_args()
    lines = run(args)
    print("\n".join(lines))
    failed = [line for line in lines if line.rstrip().endswith("FAIL   |")]
    sys.exit(1 if failed and args.check else 0)


if __name__ == "__main__":
    main()
