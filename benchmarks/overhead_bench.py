"""What a threadline turn costs on top of the OpenAI SDK call it makes.

Run by hand::

    .venv/bin/python benchmarks/overhead_bench.py [--rounds 15] [--turns 20]

Method
------
* Both sides use one ``openai.AsyncOpenAI`` client (``max_retries=0``) on an
  ``httpx2.MockTransport`` that answers instantly with canned Responses API JSON, so
  the network costs nothing and what is left is client-side work.
* raw SDK: ``client.responses.create(model=..., conversation=..., input=[<user
  item>], instructions=..., store=True)`` — exactly the request threadline sends in
  native conversations mode.
* threadline: ``await session.send(text)`` on an `AsyncSessionManager` with the
  ``memory://`` store and ``OpenAIProvider(client=...)`` in native conversations mode:
  the SDK call plus building the request, translating the reply, the retry wrapper,
  the (no-op) telemetry and the store commit.
* raw SDK, raw JSON: the same call through ``client.responses.with_raw_response``
  plus ``json.loads`` of the body. threadline reads non-streamed replies this way
  (its wire translation works on the API's JSON, so the SDK's ``Response`` models
  would be built for nothing); this row shows threadline's own overhead on top of
  exactly the client work it does.
* Rounds alternate sides (raw, threadline, raw JSON, raw, ...). Each round is ``--turns``
  turns; threadline starts a new session per round and its first turn (which also
  creates the conversation) is not timed. Every turn is timed on its own; the table
  shows the median and 90th percentile over all timed turns. One warm-up round per
  side is discarded.
* Ratio = threadline median / raw SDK median (target: <= 1.2); the second ratio is
  against the raw-JSON row.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import platform
import statistics
import time
from importlib import metadata

import httpx2
import openai

import threadline as tl
from threadline.providers.openai import OpenAIProvider

MODEL = "gpt-5.5"
SYSTEM = "You are a concise assistant."
USER_TEXT = "What is the capital of France, and roughly how many people live there?"
REPLY_TEXT = "Paris; about 2.1 million people live in the city proper."

_RESPONSE = json.dumps(
    {
        "id": "resp_bench",
        "object": "response",
        "created_at": 1,
        "model": MODEL,
        "status": "completed",
        "output": [
            {
                "type": "message",
                "id": "msg_bench",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": REPLY_TEXT, "annotations": []}],
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
_CONVERSATION = json.dumps(
    {"id": "conv_bench", "object": "conversation", "created_at": 1, "metadata": {}}
).encode()


def _handler(request: httpx2.Request) -> httpx2.Response:
    body = _CONVERSATION if request.url.path.endswith("/conversations") else _RESPONSE
    return httpx2.Response(200, headers={"content-type": "application/json"}, content=body)


def _client() -> openai.AsyncOpenAI:
    transport = httpx2.MockTransport(_handler)
    return openai.AsyncOpenAI(
        api_key="bench-key",
        max_retries=0,
        http_client=httpx2.AsyncClient(transport=transport),
    )


async def _raw_round(client: openai.AsyncOpenAI, turns: int) -> list[float]:
    times = []
    for _ in range(turns):
        started = time.perf_counter_ns()
        await client.responses.create(
            model=MODEL,
            conversation="conv_bench",
            input=[{"role": "user", "content": USER_TEXT}],
            instructions=SYSTEM,
            store=True,
        )
        times.append((time.perf_counter_ns() - started) / 1e3)
    return times


async def _raw_json_round(client: openai.AsyncOpenAI, turns: int) -> list[float]:
    times = []
    for _ in range(turns):
        started = time.perf_counter_ns()
        raw = await client.responses.with_raw_response.create(
            model=MODEL,
            conversation="conv_bench",
            input=[{"role": "user", "content": USER_TEXT}],
            instructions=SYSTEM,
            store=True,
        )
        json.loads(raw.content)
        times.append((time.perf_counter_ns() - started) / 1e3)
    return times


async def _threadline_round(manager: tl.AsyncSessionManager, turns: int) -> list[float]:
    session = await manager.create(provider="openai", model=MODEL, system=SYSTEM)
    await session.send(USER_TEXT)  # creates the conversation: not a steady-state turn
    times = []
    for _ in range(turns):
        started = time.perf_counter_ns()
        await session.send(USER_TEXT)
        times.append((time.perf_counter_ns() - started) / 1e3)
    return times


def _row(name: str, times: list[float]) -> str:
    median = statistics.median(times)
    p90 = statistics.quantiles(times, n=10)[-1]
    return f"| {name:<38} | {len(times):>5} | {median:>10.1f} | {p90:>10.1f} |"


async def main(rounds: int, turns: int) -> None:
    raw_client, tl_client = _client(), _client()
    manager = tl.AsyncSessionManager("memory://", providers=[OpenAIProvider(client=tl_client)])
    raw: list[float] = []
    raw_json: list[float] = []
    threaded: list[float] = []
    gc.collect()
    for round_number in range(rounds + 1):
        raw_times = await _raw_round(raw_client, turns)
        tl_times = await _threadline_round(manager, turns)
        json_times = await _raw_json_round(raw_client, turns)
        if round_number:  # round 0 warms every side up
            raw.extend(raw_times)
            threaded.extend(tl_times)
            raw_json.extend(json_times)
    await manager.close()
    await raw_client.close()
    await tl_client.close()

    ratio = statistics.median(threaded) / statistics.median(raw)
    ratio_json = statistics.median(threaded) / statistics.median(raw_json)
    print(
        f"threadline {metadata.version('threadline')}, openai {openai.__version__}, "
        f"Python {platform.python_version()} on {platform.system()} {platform.machine()}"
    )
    print(f"{rounds} interleaved rounds x {turns} turns per side, zero-latency mock transport\n")
    print(f"| {'one turn (µs)':<38} | {'turns':>5} | {'median':>10} | {'p90':>10} |")
    print(f"|{'-' * 40}|{'-' * 7}|{'-' * 12}|{'-' * 12}|")
    print(_row("raw SDK responses.create", raw))
    print(_row("raw SDK, raw JSON (with_raw_response)", raw_json))
    print(_row("threadline send (memory, native)", threaded))
    print(f"\nratio threadline / raw SDK (median): {ratio:.2f}  (target <= 1.20)")
    print(f"ratio threadline / raw SDK raw JSON (median): {ratio_json:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--turns", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.turns))
