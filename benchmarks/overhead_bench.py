"""What a threadline turn costs on top of the provider SDK call it makes, on each face.

Run by hand::

    .venv/bin/python benchmarks/overhead_bench.py [--rounds 15] [--turns 20] [--quick]
    .venv/bin/python benchmarks/overhead_bench.py --provider openai

Method
------
* Each provider's SDK clients get an ``httpx2.MockTransport`` that answers at once
  with canned JSON, so the network costs nothing and what is left is client-side
  work. SDK retries are off (``max_retries=0``).
* For each face (the blocking ``tl.SessionManager`` on the sync SDK client, the
  ``tl.AsyncSessionManager`` on the async one) three sides run one turn:

  - raw SDK: the request threadline sends for the turn, made directly (for OpenAI's
    native conversations mode: ``responses.create(model=..., conversation=...,
    input=[<user item>], instructions=..., store=True)``);
  - raw SDK, raw JSON: the same call through ``with_raw_response`` plus
    ``json.loads`` of the body. threadline reads non-streamed replies this way (its
    wire translation works on the API's JSON), so this row is exactly the client
    work threadline does, and the difference is threadline's own;
  - threadline: ``session.send(text)`` with the ``memory://`` store and
    ``<Provider>(client=...)``: building the request, the SDK call, translating the
    reply, the retry wrapper, the (no-op) telemetry and the store commit.

* Rounds alternate the sides (raw, threadline, raw JSON; the starting side rotates).
  A round is ``--turns`` turns; threadline starts a new session per round and its
  first turn (which also creates the server-side conversation) is not timed. One
  warm-up round per side is discarded. Every turn is timed on its own.
* Ratio = threadline median / raw SDK median (target: <= 1.2 on each face).

Adding a provider: write a function like `openai_case` returning a `Case` and list it
in ``CASES``; the rest (both faces, interleaving, the table) is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import inspect
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import httpx2

import threadline as tl

TARGET = 1.2
USER_TEXT = "What is the capital of France, and roughly how many people live there?"
SYSTEM = "You are a concise assistant."

clock = time.perf_counter_ns


@dataclass
class Case:
    """One provider, benchmarked on both faces.

    ``clients(face)`` builds an SDK client of that face (``"sync"`` or ``"async"``) on a
    zero-latency mock transport. ``raw(client, face)`` and ``raw_json(client, face)``
    make one turn's request directly (a coroutine on the async face). ``provider(client)``
    builds the threadline provider object around a client. ``model`` is passed to
    ``manager.create``.
    """

    name: str  # as shown in the table
    key: str  # the provider's threadline name: manager.create(key, ...)
    sdk: str  # distribution name, for the version line
    model: str
    clients: Callable[[str], Any]
    raw: Callable[[Any, str], Any]
    raw_json: Callable[[Any, str], Any]
    provider: Callable[[Any], Any]
    raw_label: str
    close: Callable[[Any, str], Any]


# -- OpenAI ----------------------------------------------------------------------------


def openai_case() -> Case:
    """OpenAI Responses API in native conversations mode (threadline's default)."""
    import openai

    model = "gpt-5.5"
    reply = "Paris; about 2.1 million people live in the city proper."
    response = json.dumps(
        {
            "id": "resp_bench",
            "object": "response",
            "created_at": 1,
            "model": model,
            "status": "completed",
            "output": [
                {
                    "type": "message",
                    "id": "msg_bench",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": reply, "annotations": []}],
                }
            ],
            "usage": {
                "input_tokens": 120,
                "input_tokens_details": {"cached_tokens": 96, "cache_write_tokens": 0},
                "output_tokens": 14,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": 134,
            },
            "error": None,
            "incomplete_details": None,
            "instructions": SYSTEM,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "store": True,
            "conversation": {"id": "conv_bench"},
        }
    ).encode()
    conversation = json.dumps(
        {"id": "conv_bench", "object": "conversation", "created_at": 1, "metadata": {}}
    ).encode()

    def handler(request: httpx2.Request) -> httpx2.Response:
        body = conversation if request.url.path.endswith("/conversations") else response
        return httpx2.Response(200, headers={"content-type": "application/json"}, content=body)

    def clients(face: str) -> Any:
        transport = httpx2.MockTransport(handler)
        if face == "sync":
            return openai.OpenAI(
                api_key="bench-key", max_retries=0, http_client=httpx2.Client(transport=transport)
            )
        return openai.AsyncOpenAI(
            api_key="bench-key", max_retries=0, http_client=httpx2.AsyncClient(transport=transport)
        )

    # Exactly what threadline sends on a native-conversations turn.
    request = {
        "model": model,
        "conversation": "conv_bench",
        "input": [{"role": "user", "content": USER_TEXT}],
        "instructions": SYSTEM,
        "store": True,
    }

    def raw(client: Any, face: str) -> Any:
        return client.responses.create(**request)

    def raw_json(client: Any, face: str) -> Any:
        if face == "sync":
            return json.loads(client.responses.with_raw_response.create(**request).content)

        async def call() -> Any:
            return json.loads((await client.responses.with_raw_response.create(**request)).content)

        return call()

    def close(client: Any, face: str) -> Any:
        return client.close()

    return Case(
        name="OpenAI",
        key="openai",
        sdk="openai",
        model=model,
        clients=clients,
        raw=raw,
        raw_json=raw_json,
        provider=lambda client: tl.providers.OpenAIProvider(client=client),
        raw_label="responses.create",
        close=close,
    )


# Anthropic and Google rows: add ``anthropic_case`` / ``google_case`` here.
CASES: dict[str, Callable[[], Case]] = {"openai": openai_case}


def source_state() -> str:
    """The commit measured, and whether src/ differed from it."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        git = ["git", "-C", os.path.dirname(here)]
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--", "src"], capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return head + (" + uncommitted changes in src/" if dirty else "")


# -- measurement -----------------------------------------------------------------------


async def _awaited(work: Any) -> Any:
    return await work


class Face:
    """The sides of one provider on one face, each a function timing one round."""

    def __init__(self, case: Case, face: str, runner: asyncio.Runner) -> None:
        self.case = case
        self.face = face
        self.runner = runner
        self.raw_client = case.clients(face)
        self.tl_client = case.clients(face)
        providers = [case.provider(self.tl_client)]
        if face == "sync":
            self.manager: Any = tl.SessionManager("memory://", providers=providers)
        else:
            self.manager = tl.AsyncSessionManager("memory://", providers=providers)

    def run(self, work: Any) -> Any:
        """Finish a call of this face (on the async face, on the long-lived loop)."""
        return self.runner.run(_awaited(work)) if inspect.isawaitable(work) else work

    def _times(self, turns: int, call: Callable[[], Any]) -> list[float]:
        if self.face == "sync":
            times = []
            for _ in range(turns):
                started = clock()
                call()
                times.append((clock() - started) / 1e3)
            return times

        async def timed() -> list[float]:
            times = []
            for _ in range(turns):
                started = clock()
                await call()
                times.append((clock() - started) / 1e3)
            return times

        result: list[float] = self.runner.run(timed())
        return result

    def raw(self, turns: int) -> list[float]:
        return self._times(turns, lambda: self.case.raw(self.raw_client, self.face))

    def raw_json(self, turns: int) -> list[float]:
        return self._times(turns, lambda: self.case.raw_json(self.raw_client, self.face))

    def threadline(self, turns: int) -> list[float]:
        session = self.run(self.manager.create(self.case.key, model=self.case.model))
        self.run(session.send(USER_TEXT))  # creates the conversation: not a steady turn
        return self._times(turns, lambda: session.send(USER_TEXT))

    def close(self) -> None:
        self.run(self.manager.close() if self.face == "sync" else self.manager.aclose())
        self.run(self.case.close(self.raw_client, self.face))
        self.run(self.case.close(self.tl_client, self.face))


def measure(face: Face, rounds: int, turns: int) -> dict[str, list[float]]:
    sides: dict[str, Callable[[int], list[float]]] = {
        "raw": face.raw,
        "threadline": face.threadline,
        "raw_json": face.raw_json,
    }
    names = list(sides)
    found: dict[str, list[float]] = {name: [] for name in names}
    for name in names:  # warm-up, discarded
        sides[name](turns)
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            gc.collect()
            found[name].extend(sides[name](turns))
    return found


def p90(times: list[float]) -> float:
    return statistics.quantiles(times, n=10)[-1]


def row(*cells: str) -> str:
    widths = (44, 5, 6, 10, 10, 8, 7, 6)
    out = [
        f"{cell:<{w}}" if i in (0, 1, 7) else f"{cell:>{w}}"
        for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
    ]
    return "| " + " | ".join(out) + " |"


def report(case: Case, face: str, found: dict[str, list[float]]) -> list[str]:
    raw, raw_json, ours = (statistics.median(found[k]) for k in ("raw", "raw_json", "threadline"))
    lines = []
    for label, key in (
        (f"raw SDK {case.raw_label}", "raw"),
        ("raw SDK, raw JSON (with_raw_response)", "raw_json"),
        ("threadline send() (memory, native)", "threadline"),
    ):
        times = found[key]
        if key == "threadline":
            ratio, target = f"{ours / raw:.2f}", f"<= {TARGET:g}"
            verdict = "PASS" if ours / raw <= TARGET else "FAIL"
        elif key == "raw_json":
            ratio, target, verdict = f"{ours / raw_json:.2f}", "-", "info"
        else:
            ratio, target, verdict = "-", "-", ""
        lines.append(
            row(
                f"{case.name} {label}",
                face,
                str(len(times)),
                f"{statistics.median(times):.1f}",
                f"{p90(times):.1f}",
                ratio,
                target,
                verdict,
            )
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--provider", action="append", choices=sorted(CASES), help="repeatable")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 3 rounds of 5")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target fails")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.turns = 3, 5

    lines = [
        "threadline provider overhead benchmark",
        "",
        f"threadline {metadata.version('threadline')} ({source_state()}),"
        f" Python {platform.python_version()} on {platform.system()} {platform.machine()},"
        f" {os.cpu_count()} CPUs",
    ]
    table = [
        row("one turn (µs)", "API", "turns", "median", "p90", "ratio", "target", "result"),
        row(*("-" * w for w in (44, 5, 6, 10, 10, 8, 7, 6))),
    ]
    load_at_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    with asyncio.Runner() as runner:
        for name in args.provider or list(CASES):
            case = CASES[name]()
            lines.append(f"{case.name}: {case.sdk} {metadata.version(case.sdk)}")
            for face_name in ("sync", "async"):
                face = Face(case, face_name, runner)
                try:
                    table += report(case, face_name, measure(face, args.rounds, args.turns))
                finally:
                    face.close()
    lines += [
        f"{args.rounds} interleaved rounds x {args.turns} turns per side and face,"
        " zero-latency mock transport; ratio = threadline median / raw SDK median"
        " (raw-JSON row: threadline / raw JSON)",
        f"load avg {load_at_start} at start, {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        " at end (1/5/15 min)",
        "",
        *table,
    ]
    print("\n".join(lines))
    failed = any(line.rstrip().endswith("FAIL   |") for line in table)
    sys.exit(1 if failed and args.check else 0)


if __name__ == "__main__":
    main()
