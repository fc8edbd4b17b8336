"""What a threadline turn costs on top of the provider SDK call it makes, on each face.

Run by hand::

    .venv/bin/python benchmarks/overhead_bench.py [--rounds 15] [--turns 20] [--quick]
    .venv/bin/python benchmarks/overhead_bench.py --provider anthropic --provider google

Method
------
* Each provider's SDK clients send through a transport that answers at once, so the
  network costs nothing and what is left is client-side work: OpenAI gets canned JSON
  on an ``httpx2.MockTransport``; Anthropic and Google get threadline's own fakes
  (``threadline.testing.FakeAnthropic`` / ``FakeGemini``), which keep threads and
  interaction chains like the real servers, so every request of every side is a real
  continue of a real chain. SDK retries are off.
* Every client's transport is wrapped in a meter (`Metered`) that takes the CPU time
  of the fake server's own work (routing, parsing the request, building the reply)
  per turn. Both
  sides of a face send to the same fake in the same pattern (a new chain per round,
  its first request untimed, then ``--turns`` continues), so the fake does the same
  work for both, and the table shows it (``server``).
* For each face (the blocking ``tl.SessionManager`` on the sync SDK client, the
  ``tl.AsyncSessionManager`` on the async one) three sides run one turn:

  - raw SDK: the request threadline sends for a continued turn, made directly (OpenAI
    conversations: ``responses.create(model=..., conversation=..., input=[<user item>],
    instructions=..., store=True)``; Anthropic threads: ``beta.messages.create(model=...,
    max_tokens=..., messages=[<user message>], betas=[<threads beta>],
    thread={"type": "continue", "previous_message_id": <last reply id>})``; Google
    interactions: ``interactions.create(model=..., input=<text>, store=True,
    system_instruction=..., previous_interaction_id=<last id>)``);
  - raw SDK, raw JSON: the same call through ``with_raw_response`` plus ``json.loads``
    of the body. The OpenAI and Anthropic adapters read non-streamed replies this way,
    so for them this row is exactly the SDK work threadline does and the difference is
    threadline's own; the Google adapter takes the SDK's parsed ``Interaction``
    instead, so there this row shows what reading raw JSON would save;
  - threadline: ``session.send(text)`` with the ``memory://`` store, native mode, the
    same system prompt and ``<Provider>(client=...)``: building the request, the SDK
    call, translating the reply, the retry wrapper, the (no-op) telemetry and the
    store commit.

  The benchmark checks that the three sides' request bodies are identical (the id
  continued from aside) and prints the result.
* Rounds alternate the sides (raw, threadline, raw JSON; the starting side rotates).
  One warm-up round per side is discarded. Every turn is timed on its own, in CPU
  time of the process (``time.process_time_ns``) and in wall time. With no I/O (the
  transport answers at once) a turn's CPU time is its work; on a shared machine its
  wall time also holds waits for a CPU (on a loaded 2-vCPU machine, about half the
  turns waited ~4 ms, and the wall median jumped between the two modes from run to
  run). The ratios use CPU time; wall medians and their ratio are printed for
  information.
* Garbage collection: each side pays for its own. A round runs with the collector
  off, starting from a full collection; after it the young generation (that round's
  garbage and survivors, nothing else) is collected and the time shared out over the
  round's turns (column ``gc``, included in the turn times). With the collector on, a
  collection runs in whichever turn crosses the threshold and frees every side's
  garbage: the Google SDK leaves throwaway pydantic model classes that cost
  milliseconds to collect, and on an interleaved run threadline's turns, which
  allocate at the end of the call, ended up paying for the raw side's.
* Ratio = threadline median / raw SDK median (CPU). Net = the same with the fake server's
  time taken out of every turn on both sides (median of turn - server); the fake's
  work is neither SDK nor threadline, and counting it on both sides pulls the ratio
  towards 1. The result (target: <= 1.2 on each face) is judged on the net ratio.
* Request bytes: for providers with a fake, one session per mode (native and local)
  runs ``--bytes-turns`` turns on each face; the table shows the request bytes of
  chosen turns (the fake records each body's size), and for Anthropic the share of
  input tokens the reply reports as cache read or cache write.

Adding a provider: write a function like `openai_case` returning a `Case` and list it
in ``CASES``; the rest (both faces, interleaving, the tables) is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import inspect
import json
import os
import platform
import ssl
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import httpx2
from _common import USER_TEXT, source_state

import threadline as tl

TARGET = 1.2
SYSTEM = "You are a concise assistant."
# Ids that differ between sides and turns by construction: left out of the body check.
CHAIN_IDS = frozenset({"previous_message_id", "previous_interaction_id"})

clock = time.perf_counter_ns  # wall time
cpu = time.process_time_ns  # CPU time of the process (all threads)


class Metered(httpx2.BaseTransport, httpx2.AsyncBaseTransport):
    """A transport wrapper: the CPU time spent in the wrapped transport (the mock or
    fake server's own work) and the last request body sent through it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.ns = 0
        self.last: bytes = b""

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        started = cpu()
        try:
            self.last = request.read()
            return self.inner.handle_request(request)  # type: ignore[no-any-return]
        finally:
            self.ns += cpu() - started

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        started = cpu()
        try:
            self.last = await request.aread()
            return await self.inner.handle_async_request(request)  # type: ignore[no-any-return]
        finally:
            self.ns += cpu() - started


@dataclass
class Fake:
    """A fresh fake server (for the request-bytes runs)."""

    client: Callable[[str], Any]
    """An SDK client of the given face answered by this fake."""
    sizes: Callable[[], list[int]]
    """The body size of every model request it received so far, in order."""


@dataclass
class Case:
    """One provider, benchmarked on both faces.

    ``clients(face)`` builds an SDK client of that face (``"sync"`` or ``"async"``) on a
    zero-latency transport and returns it with its `Metered` wrapper. ``start(client,
    face)``, if given, runs untimed before each raw round (it creates the chain the
    round's turns continue). ``raw(client, face)`` and ``raw_json(client, face)`` make
    one turn's request directly (a coroutine on the async face). ``provider(client)``
    builds the threadline provider object around a client. ``model`` is passed to
    ``manager.create``. ``fake()``, if given, makes a fresh fake for the request-bytes
    runs.
    """

    name: str  # as shown in the table
    key: str  # the provider's threadline name: manager.create(key, ...)
    sdk: str  # distribution name, for the version line
    model: str
    server: str  # what answers, for the header
    clients: Callable[[str], tuple[Any, Metered]]
    raw: Callable[[Any, str], Any]
    raw_json: Callable[[Any, str], Any]
    provider: Callable[[Any], Any]
    raw_label: str
    close: Callable[[Any, str], Any]
    start: Callable[[Any, str], Any] | None = None
    reads_raw_json: bool = True  # whether the adapter reads replies as raw JSON
    fake: Callable[[], Fake] | None = None
    cache_shares: bool = False  # report cacheable shares of input tokens


def _on_face(face: str, sync_call: Callable[[], Any], async_call: Callable[[], Any]) -> Any:
    """``sync_call()`` on the sync face, else the coroutine ``async_call()``."""
    return sync_call() if face == "sync" else async_call()


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

    def clients(face: str) -> tuple[Any, Metered]:
        meter = Metered(httpx2.MockTransport(handler))
        if face == "sync":
            client: Any = openai.OpenAI(
                api_key="bench-key", max_retries=0, http_client=httpx2.Client(transport=meter)
            )
        else:
            client = openai.AsyncOpenAI(
                api_key="bench-key", max_retries=0, http_client=httpx2.AsyncClient(transport=meter)
            )
        return client, meter

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
        server="canned JSON on httpx2.MockTransport",
        clients=clients,
        raw=raw,
        raw_json=raw_json,
        provider=lambda client: tl.providers.OpenAIProvider(client=client),
        raw_label="responses.create",
        close=close,
    )


# -- Anthropic -------------------------------------------------------------------------


def anthropic_case() -> Case:
    """Anthropic Messages API in native mode: beta message threads (threadline's default)."""
    import anthropic

    from threadline.providers.anthropic import AnthropicProvider
    from threadline.testing import FakeAnthropic
    from threadline.testing._anthropic_fake import BASE_URL, THREADS_BETA
    from threadline.testing._httpx2 import RespxTransport

    model = "claude-sonnet-5-5"
    max_tokens = 16_384  # threadline's default for this model (the body check confirms it)
    shared = FakeAnthropic()  # one server for every client of the overhead rows

    def client_on(router: Any, face: str) -> tuple[Any, Metered]:
        # As threadline.testing.anthropic_client builds it, with the meter around the
        # fake's transport.
        meter = Metered(RespxTransport(router))
        options: dict[str, Any] = {
            "api_key": "bench-key",
            "base_url": BASE_URL,
            "max_retries": 0,
            "open_telemetry": False,
        }
        if face == "sync":
            client: Any = anthropic.Anthropic(http_client=httpx2.Client(transport=meter), **options)
        else:
            client = anthropic.AsyncAnthropic(
                http_client=httpx2.AsyncClient(transport=meter), **options
            )
        return client, meter

    user = [{"role": "user", "content": USER_TEXT}]
    first = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": user,
        "system": SYSTEM,
        "betas": [THREADS_BETA],
        "thread": {"type": "create"},
    }
    last: dict[int, str] = {}  # client -> the reply id its next turn continues from

    def continued(client: Any) -> dict[str, Any]:
        # Exactly what threadline sends on a continued turn.
        return {
            "model": model,
            "max_tokens": max_tokens,
            "messages": user,
            "betas": [THREADS_BETA],
            "thread": {"type": "continue", "previous_message_id": last[id(client)]},
        }

    def start(client: Any, face: str) -> Any:
        async def call() -> None:
            last[id(client)] = (await client.beta.messages.create(**first)).id

        def sync_call() -> None:
            last[id(client)] = client.beta.messages.create(**first).id

        return _on_face(face, sync_call, call)

    def raw(client: Any, face: str) -> Any:
        async def call() -> Any:
            reply = await client.beta.messages.create(**continued(client))
            last[id(client)] = reply.id
            return reply

        def sync_call() -> Any:
            reply = client.beta.messages.create(**continued(client))
            last[id(client)] = reply.id
            return reply

        return _on_face(face, sync_call, call)

    def raw_json(client: Any, face: str) -> Any:
        async def call() -> Any:
            response = await client.beta.messages.with_raw_response.create(**continued(client))
            reply = json.loads(await response.read())
            last[id(client)] = reply["id"]
            return reply

        def sync_call() -> Any:
            response = client.beta.messages.with_raw_response.create(**continued(client))
            reply = json.loads(response.read())
            last[id(client)] = reply["id"]
            return reply

        return _on_face(face, sync_call, call)

    def fake() -> Fake:
        server = FakeAnthropic()
        return Fake(
            client=lambda face: server.client(sync=face == "sync"),
            sizes=lambda: [call.size for call in server.calls],
        )

    return Case(
        name="Anthropic",
        key="anthropic",
        sdk="anthropic",
        model=model,
        server="threadline.testing.FakeAnthropic (threads kept; respx router)",
        clients=lambda face: client_on(shared.router, face),
        raw=raw,
        raw_json=raw_json,
        provider=lambda client: AnthropicProvider(client=client),
        raw_label="beta.messages.create",
        close=lambda client, face: client.close(),
        start=start,
        fake=fake,
        cache_shares=True,
    )


# -- Google ----------------------------------------------------------------------------


def google_case() -> Case:
    """Gemini Interactions API in native mode (threadline's default)."""
    from google import genai
    from google.genai import types

    from threadline.providers.google import GoogleProvider
    from threadline.testing import FakeGemini
    from threadline.testing._httpx2 import RespxTransport

    model = "gemini-3.5-flash"
    shared = FakeGemini()
    # The transport answers every request, so TLS is never used; one context spares
    # the SDK loading the CA bundle per client (as threadline.testing.google_client).
    tls = ssl.create_default_context()

    def clients(face: str) -> tuple[Any, Metered]:
        # As threadline.testing.google_client builds it, with the meter around the
        # fake's transport. One genai.Client serves both faces (client.aio: async).
        meter = Metered(RespxTransport(shared.router))
        options = types.HttpOptions(
            client_args={"transport": meter, "verify": tls},
            async_client_args={"transport": meter, "verify": tls, "ssl": tls},
            retry_options=types.HttpRetryOptions(attempts=1),
        )
        return genai.Client(api_key="bench-key", http_options=options), meter

    base = {"model": model, "input": USER_TEXT, "store": True, "system_instruction": SYSTEM}
    last: dict[int, str] = {}

    def continued(client: Any) -> dict[str, Any]:
        # Exactly what threadline sends on a continued turn.
        return {**base, "previous_interaction_id": last[id(client)]}

    def start(client: Any, face: str) -> Any:
        async def call() -> None:
            last[id(client)] = (await client.aio.interactions.create(**base)).id

        def sync_call() -> None:
            last[id(client)] = client.interactions.create(**base).id

        return _on_face(face, sync_call, call)

    def raw(client: Any, face: str) -> Any:
        async def call() -> Any:
            reply = await client.aio.interactions.create(**continued(client))
            last[id(client)] = reply.id
            return reply

        def sync_call() -> Any:
            reply = client.interactions.create(**continued(client))
            last[id(client)] = reply.id
            return reply

        return _on_face(face, sync_call, call)

    def raw_json(client: Any, face: str) -> Any:
        async def call() -> Any:
            raw = client.aio.interactions.with_raw_response
            reply = json.loads(await (await raw.create(**continued(client))).read())
            last[id(client)] = reply["id"]
            return reply

        def sync_call() -> Any:
            response = client.interactions.with_raw_response.create(**continued(client))
            reply = json.loads(response.read())
            last[id(client)] = reply["id"]
            return reply

        return _on_face(face, sync_call, call)

    def close(client: Any, face: str) -> Any:
        if face == "sync":
            return client.close()

        async def call() -> None:
            await client.aio.aclose()
            client.close()

        return call()

    def fake() -> Fake:
        server = FakeGemini()
        return Fake(
            client=lambda face: server.client(),  # a genai.Client serves both faces
            sizes=lambda: [call.size for call in server.calls if call.method == "POST"],
        )

    return Case(
        name="Google",
        key="google",
        sdk="google-genai",
        model=model,
        server="threadline.testing.FakeGemini (chains kept; respx router)",
        clients=clients,
        raw=raw,
        raw_json=raw_json,
        provider=lambda client: GoogleProvider(client=client),
        raw_label="interactions.create",
        close=close,
        start=start,
        reads_raw_json=False,
        fake=fake,
    )


CASES: dict[str, Callable[[], Case]] = {
    "openai": openai_case,
    "anthropic": anthropic_case,
    "google": google_case,
}


# -- measurement -----------------------------------------------------------------------


async def _awaited(work: Any) -> Any:
    return await work


@dataclass
class Sample:
    """One side's turns (µs): the CPU time of each, its wall time, its share of the
    garbage collection its round needed (CPU; included in both), and the CPU time
    spent in the fake server."""

    times: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    gc: list[float] = field(default_factory=list)
    server: list[float] = field(default_factory=list)
    rounds: list[int] = field(default_factory=list)

    def extend(self, other: Sample, round_: int) -> None:
        self.times += other.times
        self.wall += other.wall
        self.gc += other.gc
        self.server += other.server
        self.rounds += [round_] * len(other.times)

    @property
    def net(self) -> list[float]:
        return [t - s for t, s in zip(self.times, self.server, strict=True)]


SIDES = ("raw", "threadline", "raw_json")


class Face:
    """The sides of one provider on one face, each a function timing one round."""

    def __init__(self, case: Case, face: str, runner: asyncio.Runner) -> None:
        self.case = case
        self.face = face
        self.runner = runner
        # One client per side, so that each side's last request can be compared.
        self.clients = {side: case.clients(face) for side in SIDES}
        providers = [case.provider(self.clients["threadline"][0])]
        if face == "sync":
            self.manager: Any = tl.SessionManager("memory://", providers=providers)
        else:
            self.manager = tl.AsyncSessionManager("memory://", providers=providers)

    def run(self, work: Any) -> Any:
        """Finish a call of this face (on the async face, on the long-lived loop)."""
        return self.runner.run(_awaited(work)) if inspect.isawaitable(work) else work

    def _times(self, turns: int, call: Callable[[], Any], meter: Metered) -> Sample:
        sample = Sample()

        def record(started: tuple[int, int, int]) -> None:
            used, wall, served = cpu(), clock(), meter.ns
            sample.times.append((used - started[0]) / 1e3)
            sample.wall.append((wall - started[1]) / 1e3)
            sample.server.append((served - started[2]) / 1e3)

        if self.face == "sync":
            for _ in range(turns):
                started = (cpu(), clock(), meter.ns)
                call()
                record(started)
            return sample

        async def timed() -> None:
            for _ in range(turns):
                started = (cpu(), clock(), meter.ns)
                await call()
                record(started)

        self.runner.run(timed())
        return sample

    def _raw_side(self, side: str, turns: int) -> Sample:
        client, meter = self.clients[side]
        if self.case.start is not None:
            self.run(self.case.start(client, self.face))
        make = self.case.raw if side == "raw" else self.case.raw_json
        return self._times(turns, lambda: make(client, self.face), meter)

    def raw(self, turns: int) -> Sample:
        return self._raw_side("raw", turns)

    def raw_json(self, turns: int) -> Sample:
        return self._raw_side("raw_json", turns)

    def threadline(self, turns: int) -> Sample:
        session = self.run(self.manager.create(self.case.key, model=self.case.model, system=SYSTEM))
        self.run(session.send(USER_TEXT))  # creates the chain: not a steady turn
        meter = self.clients["threadline"][1]
        return self._times(turns, lambda: session.send(USER_TEXT), meter)

    def bodies(self) -> dict[str, bytes]:
        """Each side's last request body."""
        return {side: meter.last for side, (_, meter) in self.clients.items()}

    def close(self) -> None:
        self.run(self.manager.close() if self.face == "sync" else self.manager.aclose())
        for client, _ in self.clients.values():
            self.run(self.case.close(client, self.face))


def measure(face: Face, rounds: int, turns: int) -> dict[str, Sample]:
    sides: dict[str, Callable[[int], Sample]] = {
        "raw": face.raw,
        "threadline": face.threadline,
        "raw_json": face.raw_json,
    }
    names = list(sides)
    found = {name: Sample() for name in names}
    for name in names:  # warm-up, discarded
        one_round(sides[name], turns)
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            found[name].extend(one_round(sides[name], turns), r)
    return found


def one_round(side: Callable[[int], Sample], turns: int) -> Sample:
    """One round of a side, each side paying for its own garbage.

    With the collector on, a collection runs inside whichever turn crosses the
    allocation threshold and frees everything young, whichever side left it: on an
    interleaved run one side can pay for the other's garbage (the Google SDK leaves
    throwaway pydantic model classes, costly to collect). So the round runs with the
    collector off, from an empty young generation; then the young generation (exactly
    this round's garbage and survivors) is collected, timed, and that time is shared
    out over the round's turns.
    """
    gc.collect()
    gc.disable()
    try:
        sample = side(turns)
        started = (cpu(), clock())
        gc.collect(0)
        share, wall = ((cpu() - started[0]) / 1e3 / turns, (clock() - started[1]) / 1e3 / turns)
    finally:
        gc.enable()
    sample.gc = [share] * len(sample.times)
    sample.times = [t + share for t in sample.times]
    sample.wall = [t + wall for t in sample.wall]
    return sample


def _without_chain_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "<id>" if k in CHAIN_IDS else _without_chain_ids(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_chain_ids(v) for v in value]
    return value


def compare_bodies(case: Case, face: str, bodies: dict[str, bytes]) -> str:
    """Whether the three sides sent the same request (the id continued from aside)."""
    parsed = {side: _without_chain_ids(json.loads(body)) for side, body in bodies.items()}
    sizes = ", ".join(f"{side} {len(bodies[side])} B" for side in SIDES)
    if parsed["raw"] == parsed["threadline"] == parsed["raw_json"]:
        same = "request bodies identical (the id continued from aside)"
        return f"{case.name} {face}: {same}: {sizes}"
    differ = sorted(
        key
        for side in ("threadline", "raw_json")
        for key in parsed["raw"].keys() | parsed[side].keys()
        if parsed["raw"].get(key) != parsed[side].get(key)
    )
    return f"{case.name} {face}: request bodies DIFFER in {', '.join(differ)}: {sizes}"


def p90(times: list[float]) -> float:
    return statistics.quantiles(times, n=10)[-1]


HEADER = (
    "one turn (µs)",
    "API",
    "turns",
    "CPU med",
    "CPU p90",
    "gc",
    "server",
    "ratio",
    "net",
    "wall med",
    "wall r.",
    "target",
    "result",
)
WIDTHS = (48, 5, 5, 8, 8, 7, 7, 6, 6, 8, 7, 6, 6)


def row(*cells: str) -> str:
    out = [
        f"{cell:<{w}}" if i in (0, 1, len(WIDTHS) - 1) else f"{cell:>{w}}"
        for i, (cell, w) in enumerate(zip(cells, WIDTHS, strict=True))
    ]
    return "| " + " | ".join(out) + " |"


def report(case: Case, face: str, found: dict[str, Sample]) -> list[str]:
    median = {k: statistics.median(s.times) for k, s in found.items()}
    net = {k: statistics.median(s.net) for k, s in found.items()}
    wall = {k: statistics.median(s.wall) for k, s in found.items()}
    json_label = "raw SDK, raw JSON (with_raw_response)"
    if not case.reads_raw_json:
        json_label = "raw SDK, raw JSON (the adapter does not)"
    lines = []
    for label, key in (
        (f"raw SDK {case.raw_label}", "raw"),
        (json_label, "raw_json"),
        ("threadline send() (memory, native)", "threadline"),
    ):
        sample = found[key]
        if key == "raw":
            ratios = ["-", "-"]
            wall_ratio = "-"
        else:
            versus = "raw" if key == "threadline" else key  # threadline / this side
            ratio = median["threadline"] / median[versus]
            net_ratio = net["threadline"] / net[versus]
            ratios = [f"{ratio:.2f}", f"{net_ratio:.2f}"]
            wall_ratio = f"{wall['threadline'] / wall[versus]:.2f}"
        if key == "threadline":
            verdict = [f"<= {TARGET:g}", "PASS" if net_ratio <= TARGET else "FAIL"]
        else:
            verdict = ["-", "info" if key == "raw_json" else ""]
        lines.append(
            row(
                f"{case.name} {label}",
                face,
                str(len(sample.times)),
                f"{median[key]:.1f}",
                f"{p90(sample.times):.1f}",
                f"{statistics.mean(sample.gc):.1f}",
                f"{statistics.median(sample.server):.1f}",
                *ratios,
                f"{wall[key]:.1f}",
                wall_ratio,
                *verdict,
            )
        )
    return lines


# -- request bytes per turn ------------------------------------------------------------


@dataclass
class Turn:
    size: int  # request bytes of the turn (all its model requests)
    requests: int
    usage: Any


def per_turn(case: Case, mode: str, face: str, turns: int, runner: asyncio.Runner) -> list[Turn]:
    """One session of ``turns`` turns on a fresh fake: what each turn sent and billed."""
    assert case.fake is not None
    fake = case.fake()
    client = fake.client(face)

    def run(work: Any) -> Any:
        return runner.run(_awaited(work)) if inspect.isawaitable(work) else work

    providers = [case.provider(client)]
    manager: Any
    if face == "sync":
        manager = tl.SessionManager("memory://", providers=providers)
    else:
        manager = tl.AsyncSessionManager("memory://", providers=providers)
    found = []
    try:
        session = run(manager.create(case.key, model=case.model, system=SYSTEM, mode=mode))
        for _ in range(turns):
            before = len(fake.sizes())
            reply = run(session.send(USER_TEXT))
            sizes = fake.sizes()[before:]
            found.append(Turn(sum(sizes), len(sizes), reply.usage))
    finally:
        run(manager.close() if face == "sync" else manager.aclose())
        run(case.close(client, face))
    return found


def _share(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def cache_shares(turns: list[Turn], shown: list[int]) -> str:
    """From turn 3 on: the share of input tokens billed as cache read or cache write
    (``Usage.input_tokens`` includes both), and the share read."""
    later = [t.usage for t in turns[2:]]
    marked = [(u.cached_input_tokens + u.cache_write_tokens) / u.input_tokens for u in later]
    read = [u.cached_input_tokens / u.input_tokens for u in later]
    points = ", ".join(
        f"turn {t} {_share(u.cached_input_tokens, u.input_tokens)} of {u.input_tokens}"
        for t in shown
        if t >= 3
        for u in [turns[t - 1].usage]
    )
    return (
        "input tokens marked cacheable ((cache read + cache write) / input):"
        f" min {100 * min(marked):.1f}%, median {100 * statistics.median(marked):.1f}%,"
        f" max {100 * max(marked):.1f}%; read from the cache: min {100 * min(read):.1f}%,"
        f" max {100 * max(read):.1f}% ({points})"
    )


def bytes_report(case: Case, turns: int, runner: asyncio.Runner) -> list[str]:
    shown = sorted({t for t in (1, 2, 3, 10, 50, turns) if t <= turns})
    head = ["mode", *(f"turn {t}" for t in shown), "B/turn, 2→last", "total", "faces"]
    lines = [
        f"{case.name}: request bytes per turn, one session of {turns} turns per mode and face"
        f" (system prompt, no tools; the fake's body sizes)",
        "",
        "| " + " | ".join(head) + " |",
        "| " + " | ".join("---" for _ in head) + " |",
    ]
    notes = []
    for mode in ("native", "local"):
        sync = per_turn(case, mode, "sync", turns, runner)
        async_ = per_turn(case, mode, "async", turns, runner)
        same = [t.size for t in sync] == [t.size for t in async_]
        growth = (sync[-1].size - sync[1].size) / (turns - 2) if turns > 2 else 0.0
        cells = [
            mode,
            *(f"{sync[t - 1].size:,}" for t in shown),
            f"{growth:+.1f}",
            f"{sum(t.size for t in sync):,}",
            "sync = async" if same else "DIFFER",
        ]
        lines.append("| " + " | ".join(cells) + " |")
        extra = [t for t in sync if t.requests != 1]
        if extra:
            notes.append(f"  {mode}: {len(extra)} turns made other than one request")
        if case.cache_shares and turns >= 3:
            notes.append(f"  {mode}, turns 3-{turns}: {cache_shares(sync, shown)}")
    return [*lines, *notes]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--bytes-turns", type=int, default=100, help="0: skip the bytes runs")
    parser.add_argument("--provider", action="append", choices=list(CASES), help="repeatable")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 3 rounds of 5")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target fails")
    parser.add_argument("--samples", metavar="PATH", help="write every timed turn here (JSON)")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.turns, args.bytes_turns = 3, 5, min(args.bytes_turns, 10)

    lines = [
        "threadline provider overhead benchmark",
        "",
        f"threadline {metadata.version('threadline')} ({source_state()}),"
        f" Python {platform.python_version()} on {platform.system()} {platform.machine()},"
        f" {os.cpu_count()} CPUs",
    ]
    table = [
        row(*HEADER),
        row(*("-" * w for w in WIDTHS)),
    ]
    checks: list[str] = []
    byte_tables: list[str] = []
    samples: dict[str, Any] = {}
    load_at_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    with asyncio.Runner() as runner:
        for name in args.provider or list(CASES):
            case = CASES[name]()
            lines.append(f"{case.name}: {case.sdk} {metadata.version(case.sdk)}; {case.server}")
            for face_name in ("sync", "async"):
                face = Face(case, face_name, runner)
                try:
                    found = measure(face, args.rounds, args.turns)
                    table += report(case, face_name, found)
                    samples[f"{case.name} {face_name}"] = {k: vars(v) for k, v in found.items()}
                    checks.append(compare_bodies(case, face_name, face.bodies()))
                finally:
                    face.close()
            if case.fake is not None and args.bytes_turns > 0:
                byte_tables += ["", *bytes_report(case, args.bytes_turns, runner)]
    lines += [
        f"{args.rounds} interleaved rounds x {args.turns} turns per side and face;"
        " times are CPU time of the process per turn unless marked wall;"
        " gc = mean garbage-collection time per turn (collector off during a round, the"
        " round's garbage collected after it and shared out over its turns; included in"
        " the turn times); server = median CPU time in the mock or fake server per turn;"
        " ratio = threadline median / raw SDK median (raw-JSON row: threadline / raw JSON);"
        " net = the same ratio of medians of (turn - server); wall r. = the ratio of wall"
        " medians; result judged on net",
        f"load avg {load_at_start} at start, {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        " at end (1/5/15 min)",
        "",
        *table,
        "",
        *checks,
        *byte_tables,
    ]
    print("\n".join(lines))
    if args.samples:
        with open(args.samples, "w") as out:
            json.dump(samples, out)
    failed = any(line.split("|")[-2].strip() == "FAIL" for line in table)
    sys.exit(1 if failed and args.check else 0)


if __name__ == "__main__":
    main()
