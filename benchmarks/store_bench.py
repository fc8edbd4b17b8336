"""threadline's SQLite-backed sessions vs openai-agents' ``SQLiteSession``, in one run.

Run by hand (``make bench`` installs openai-agents first; it is a benchmark-only
dependency, never a threadline dependency)::

    .venv/bin/pip install openai-agents
    .venv/bin/python benchmarks/store_bench.py [--rounds 12] [--quick]

Method
------
* Both sides write to their own database file in one temporary directory, with
  ``journal_mode=WAL`` and ``synchronous=FULL`` set explicitly on every connection and
  read back before timing starts. (openai-agents itself sets only WAL; SQLite's
  default ``synchronous`` is FULL, and the subclass below pins it so the comparison
  cannot drift.)
* Each operation runs in rounds that alternate sides: threadline, openai-agents,
  threadline, ... Every single operation is timed on its own; the table shows the
  median and the 90th percentile of all of them. A warm-up round per side is
  discarded.
* Ratio = openai-agents median / threadline median (higher is better for threadline).
* ``import threadline``: a fresh interpreter per run, ``time.perf_counter()`` around
  the import, with bytecode caches in place (as after ``pip install``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from importlib import metadata
from pathlib import Path
from typing import Any

try:
    from agents.memory.sqlite_session import SQLiteSession
except ImportError:  # pragma: no cover - the benchmark's only extra dependency
    sys.exit("openai-agents is not installed: .venv/bin/pip install openai-agents")

from threadline.stores.sqlite import SQLiteStore

import threadline as tl
from threadline._records import SessionRecord

JOURNAL_MODE = "WAL"
SYNCHRONOUS = "FULL"
FORBIDDEN_AT_IMPORT = ("openai", "anthropic", "google.genai", "tenacity", "typer", "rich")

USER_TEXT = "What is the capital of France, and roughly how many people live there?"
REPLY_TEXT = "echo: " + USER_TEXT


class DurableSQLiteSession(SQLiteSession):
    """openai-agents' SQLiteSession with ``synchronous`` pinned (WAL it sets itself)."""

    @staticmethod
    def _configure_connection(conn: sqlite3.Connection) -> None:
        SQLiteSession._configure_connection(conn)
        conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")


def agents_items(n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A user item and an assistant output item, as a Runner stores them."""
    user = {"role": "user", "content": f"{USER_TEXT} ({n})"}
    assistant = {
        "id": f"msg_{n:024d}",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": f"{REPLY_TEXT} ({n})", "annotations": []}],
    }
    return user, assistant


# -- measurement helpers ---------------------------------------------------------------


class Samples:
    def __init__(self) -> None:
        self.values: list[float] = []

    def add(self, seconds: float) -> None:
        self.values.append(seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def p90(self) -> float:
        ordered = sorted(self.values)
        return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


async def timed(samples: Samples | None, op: Awaitable[Any]) -> Any:
    started = time.perf_counter()
    result = await op
    if samples is not None:
        samples.add(time.perf_counter() - started)
    return result


Batch = Callable[[Samples | None], Awaitable[None]]


async def interleave(rounds: int, a: Batch, b: Batch) -> tuple[Samples, Samples]:
    """Warm both sides up, then run ``rounds`` batches of each, alternating A/B."""
    await a(None)
    await b(None)
    sa, sb = Samples(), Samples()
    for _ in range(rounds):
        for batch, samples in ((a, sa), (b, sb)):
            gc.collect()
            await batch(samples)
    return sa, sb


def pragmas(db: sqlite3.Connection) -> tuple[str, str]:
    journal = str(db.execute("PRAGMA journal_mode").fetchone()[0]).upper()
    level = int(db.execute("PRAGMA synchronous").fetchone()[0])
    return journal, ("OFF", "NORMAL", "FULL", "EXTRA")[level]


# -- the operations --------------------------------------------------------------------


class Bench:
    def __init__(self, tmp: Path, rounds: int, per_round: int) -> None:
        self.tmp = tmp
        self.rounds = rounds
        self.per_round = per_round
        self.tl_path = tmp / "threadline.db"
        self.agents_path = tmp / "agents.db"
        self.store = SQLiteStore(self.tl_path, synchronous=SYNCHRONOUS)
        self.manager = tl.AsyncSessionManager(self.store)
        self.counter = 0

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}"

    async def check_durability(self) -> dict[str, tuple[str, str]]:
        found = {"threadline": pragmas(self.store.db)}
        probe = DurableSQLiteSession(self.next_id("probe"), self.agents_path)

        def read() -> tuple[str, str]:
            with probe._locked_connection() as conn:
                return pragmas(conn)

        # The connection add_items/get_items use lives on a worker thread.
        found["openai-agents"] = await asyncio.to_thread(read)
        probe.close()
        for side, (journal, level) in found.items():
            if (journal, level) != (JOURNAL_MODE, SYNCHRONOUS):
                raise SystemExit(f"{side} runs journal_mode={journal} synchronous={level}")
        return found

    # A persisted turn ----------------------------------------------------------------

    async def turn(self) -> dict[str, Samples]:
        n = self.per_round

        async def tl_send(samples: Samples | None) -> None:
            session = await self.manager.create("echo")
            for _ in range(n):
                await timed(samples, session.send(USER_TEXT))

        async def tl_commit(samples: Samples | None) -> None:
            # The store alone: the same two messages, one compare-and-set commit.
            session = await self.manager.create("echo")
            record: SessionRecord = session._record
            for i in range(n):
                user = tl.Message.user(f"{USER_TEXT} ({i})")
                reply = tl.Message.assistant(f"{REPLY_TEXT} ({i})")
                new = record.model_copy(
                    update={"version": record.version + 1, "message_count": 2 * (i + 1)}
                )
                await timed(
                    samples,
                    self.store.commit(new, expected_version=record.version, append=[user, reply]),
                )
                record = new

        async def agents_add(samples: Samples | None) -> None:
            session = DurableSQLiteSession(self.next_id("agents-turn"), self.agents_path)
            try:
                for i in range(n):
                    await timed(samples, session.add_items(list(agents_items(i))))
            finally:
                session.close()

        send, add = await interleave(self.rounds, tl_send, agents_add)
        commit, add2 = await interleave(self.rounds, tl_commit, agents_add)
        return {"send": send, "commit": commit, "add_items": add, "add_items_2": add2}

    # Loading a 1,000-message session -------------------------------------------------

    async def load(self, size: int = 1000) -> dict[str, Samples]:
        session = await self.manager.create("echo")
        record = session._record
        history = []
        for i in range(size // 2):
            history += [
                tl.Message.user(f"{USER_TEXT} ({i})"),
                tl.Message.assistant(f"{REPLY_TEXT} ({i})"),
            ]
        full = record.model_copy(update={"version": 2, "message_count": size})
        await self.store.commit(full, expected_version=1, append=history)

        agents = DurableSQLiteSession(self.next_id("agents-load"), self.agents_path)
        for start in range(0, size // 2, 50):
            items: list[Any] = []
            for i in range(start, start + 50):
                items += agents_items(i)
            await agents.add_items(items)

        loaded = await self.manager.get(session.id)
        assert len(loaded.messages) == size and isinstance(loaded.messages[0], tl.Message)
        assert len(await agents.get_items()) == size
        reps = max(3, self.per_round // 5)

        async def tl_get(samples: Samples | None) -> None:
            for _ in range(reps):
                await timed(samples, self.manager.get(session.id))

        async def agents_get(samples: Samples | None) -> None:
            for _ in range(reps):
                await timed(samples, agents.get_items())

        try:
            a, b = await interleave(self.rounds, tl_get, agents_get)
        finally:
            agents.close()
        return {"get": a, "get_items": b}

    # A new session and its first turn ------------------------------------------------

    async def create(self) -> dict[str, Samples]:
        n = self.per_round
        # Both databases exist already (created above); each op opens a new session.

        async def tl_create(samples: Samples | None) -> None:
            async def op() -> None:
                session = await self.manager.create("echo", user="bench")
                await session.send(USER_TEXT)

            for _ in range(n):
                await timed(samples, op())

        async def agents_create(samples: Samples | None) -> None:
            opened = []

            async def op() -> None:
                session = DurableSQLiteSession(self.next_id("agents-new"), self.agents_path)
                opened.append(session)
                await session.add_items(list(agents_items(0)))

            try:
                for _ in range(n):
                    await timed(samples, op())
            finally:
                for session in opened:
                    session.close()

        a, b = await interleave(self.rounds, tl_create, agents_create)
        return {"create": a, "new_session": b}

    async def close(self) -> None:
        await self.manager.close()


def sync_turns(tmp: Path, rounds: int, per_round: int) -> Samples:
    """The blocking facade: ``tl.SessionManager`` on its own loop thread."""
    url = f"sqlite:///{tmp / 'threadline-sync.db'}?synchronous={SYNCHRONOUS}"
    samples = Samples()
    with tl.SessionManager(store=url) as manager:
        for r in range(rounds + 1):
            session = manager.create("echo")
            for _ in range(per_round):
                started = time.perf_counter()
                session.send(USER_TEXT)
                if r:  # round 0 warms up
                    samples.add(time.perf_counter() - started)
    return samples


# -- import time -----------------------------------------------------------------------

_PROBE = f"""
import json, sys, time
t = time.perf_counter()
import threadline
elapsed = time.perf_counter() - t
bad = [m for m in {FORBIDDEN_AT_IMPORT!r} if m in sys.modules]
print(json.dumps({{"seconds": elapsed, "forbidden": bad,
                   "otel": "opentelemetry" in sys.modules}}))
"""


def import_times(runs: int) -> tuple[Samples, list[str], bool]:
    env = dict(os.environ)
    # Like a pip-installed package: threadline's bytecode is cached, not recompiled.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, "-c", "import threadline"], env=env, check=True)
    samples, forbidden, otel = Samples(), set(), False
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _PROBE], env=env, check=True, capture_output=True, text=True
        )
        result = json.loads(out.stdout)
        samples.add(result["seconds"])
        forbidden.update(result["forbidden"])
        otel = otel or result["otel"]
    return samples, sorted(forbidden), otel


# -- report ----------------------------------------------------------------------------


def machine() -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    tmp = tempfile.gettempdir()
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
        f"python    {platform.python_version()} ({platform.python_implementation()}),"
        f" SQLite {sqlite3.sqlite_version}",
        f"temp dir  {tmp} ({fs})",
        f"packages  threadline {tl.__version__}, openai-agents {version('openai-agents')},"
        f" pydantic {version('pydantic')}",
    ]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f}"


def row(op: str, ours: str, theirs: str, ratio: str, target: str, verdict: str) -> str:
    return f"| {op:<44} | {ours:>17} | {theirs:>17} | {ratio:>6} | {target:>7} | {verdict:<6} |"


def compared(op: str, ours: Samples, theirs: Samples, target: float | None) -> str:
    ratio = theirs.median / ours.median
    verdict = "info" if target is None else ("PASS" if ratio >= target else "FAIL")
    return row(
        op,
        f"{ms(ours.median)} / {ms(ours.p90)}",
        f"{ms(theirs.median)} / {ms(theirs.p90)}",
        f"{ratio:.2f}x",
        "info" if target is None else f">= {target:g}x",
        verdict,
    )


async def run(args: argparse.Namespace) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="threadline-bench-") as name:
        tmp = Path(name)
        bench = Bench(tmp, args.rounds, args.per_round)
        try:
            durability = await bench.check_durability()
            turn = await bench.turn()
            load = await bench.load()
            create = await bench.create()
        finally:
            await bench.close()
        sync = sync_turns(tmp, max(2, args.rounds // 2), args.per_round)
    imports, forbidden, otel = import_times(args.import_runs)

    lines = ["threadline store benchmark", "", *machine()]
    lines.append(
        "durability "
        + "; ".join(
            f"{side}: journal_mode={j} synchronous={s}" for side, (j, s) in durability.items()
        )
        + " (file databases, read back from each side's own connection)"
    )
    lines.append(
        f"method    {args.rounds} interleaved rounds per op (A/B/A/B..., one warm-up round"
        f" each discarded); turns: {args.per_round} per round on a fresh session"
    )
    lines += [
        "",
        "times in ms: median / p90 per operation; ratio = openai-agents median / threadline median",
        "",
        row("operation", "threadline", "openai-agents", "ratio", "target", "result"),
        row("-" * 44, "-" * 17, "-" * 17, "-" * 6, "-" * 7, "-" * 6),
        compared(
            "persisted turn: turn commit([u, a]) vs add_items",
            turn["commit"],
            turn["add_items_2"],
            2,
        ),
        compared("  whole turn: echo send() vs add_items", turn["send"], turn["add_items"], None),
        compared("  sync SessionManager send() vs add_items", sync, turn["add_items"], None),
        compared("load 1,000 messages: get() vs get_items()", load["get"], load["get_items"], 2),
        compared(
            "new session + first turn: create()+send()",
            create["create"],
            create["new_session"],
            3,
        ),
    ]
    best, median = min(imports.values), imports.median
    verdict = "PASS" if median < 0.15 and not forbidden else "FAIL"
    lines.append(
        row(
            f"import threadline (s, best / median of {len(imports.values)})",
            f"{best:.3f} / {median:.3f}",
            "-",
            "-",
            "< 0.15s",
            verdict,
        )
    )
    lines += [
        "",
        "openai-agents side of the last row: SQLiteSession(id, db_path) + add_items([u, a]),"
        " on an existing file",
        f"import threadline loaded: {', '.join(forbidden) or 'none'} of"
        f" {', '.join(FORBIDDEN_AT_IMPORT)}; opentelemetry: {'yes' if otel else 'no'}",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=12, help="interleaved rounds per op")
    parser.add_argument("--per-round", type=int, default=50, help="operations per round")
    parser.add_argument("--import-runs", type=int, default=21, help="fresh interpreters")
    parser.add_argument("--quick", action="store_true", help="3 rounds of 10: a smoke run")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target fails")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.per_round, args.import_runs = 3, 10, 5
    lines = asyncio.run(run(args))
    print("\n".join(lines))
    failed = [line for line in lines if line.rstrip().endswith("FAIL   |")]
    sys.exit(1 if failed and args.check else 0)


if __name__ == "__main__":
    main()
