"""A fake Anthropic API, for testing code built on threadline's Anthropic adapter offline.

`FakeAnthropic` answers ``POST /v1/messages`` on a ``respx`` router with the real wire
format (JSON, and SSE with ``event:`` lines) and keeps the state a real server keeps
for beta message threads: each reply id names a thread that can be continued once.
It checks requests the way the API does where threadline could get it wrong (roles
alternate, every ``tool_use`` answered by a ``tool_result``, no ``system``/``tools``
on a continue, the beta header with ``thread``) and bills tokens predictably: 10 per
message, 10 for a system prompt, 10 for tools; held thread context and prompt-cache
hits as cache reads. `anthropic_client` wires an SDK client to any router.

```python
from threadline.providers.anthropic import AnthropicProvider
from threadline.testing import FakeAnthropic

fake = FakeAnthropic()
provider = AnthropicProvider(client=fake.client(sync=True))   # or sync=False
...
assert fake.bodies[-1]["thread"]["type"] == "continue"
```

The fake answers ``re: <your text>``; ``/tool NAME {json}`` calls tool NAME if it is
offered; a tool result is answered ``tool said <output>``; ``/refuse`` is refused.
Queue an `AnthropicFault` in ``fake.faults`` to fail the next request: an HTTP error
(thread errors included, by ``error_code``), a refused connection, a timeout before or
after the server stored the turn, a connection reset after it stored it, a stream cut
mid-way or ended early, an ``error`` event, a malformed body (``store_anyway``: with the
turn stored all the same).
Needs ``httpx``, ``httpx2`` and ``respx`` (test dependencies).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
import httpx2
import respx

from ._faults import WireFault, dropped
from ._httpx2 import RespxTransport, sse_body

__all__ = ["BASE_URL", "AnthropicFault", "Call", "FakeAnthropic", "anthropic_client"]

BASE_URL = "https://api.anthropic.com"
THREADS_BETA = "message-threads-2026-08-12"
Json = dict[str, Any]

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}
_FIELD_FEATURES = frozenset({"cache_control", "context_management", "fallbacks", "thinking"})
_TOOL_ID = re.compile(r"^[A-Za-z0-9_-]+$")


def anthropic_client(router: respx.Router, *, sync: bool = False, **options: Any) -> Any:
    """An ``anthropic.AsyncAnthropic`` (``sync=True``: ``anthropic.Anthropic``) answered
    by ``router``: a dummy key, SDK retries and SDK tracing off; ``options`` go to the
    client."""
    import anthropic

    options = {
        "api_key": "test-key",
        "base_url": BASE_URL,
        "max_retries": 0,
        "open_telemetry": False,
        **options,
    }
    transport = RespxTransport(router)
    if sync:
        return anthropic.Anthropic(http_client=httpx2.Client(transport=transport), **options)
    return anthropic.AsyncAnthropic(http_client=httpx2.AsyncClient(transport=transport), **options)


@dataclass
class Call:
    """One request the fake received."""

    body: Json
    headers: dict[str, str]
    size: int
    """Bytes of the request body."""


@dataclass
class AnthropicFault(WireFault):
    """What the next ``POST /v1/messages`` does instead of answering normally; an
    ``error`` event is an ``overloaded_error``, and a stream ended early has no
    ``message_stop``."""

    error_code: str | None = None
    """``error.details.error_code`` (``thread_not_found``…) of the ``status`` error."""
    details: Json = field(default_factory=dict)
    store_anyway: bool = False
    """With ``body``, or a stream cut, ended or failed by an ``error`` event: the
    server takes and stores the turn all the same (only the client's copy is lost)."""


@dataclass
class _Thread:
    context: list[Json]
    system: Any
    tools: Any
    model: str
    continued: bool = False


def _raw(body: Json, content: bytes) -> httpx.Response:
    """A 200 carrying ``content`` as it is, typed as the request expects."""
    kind = "text/event-stream" if body.get("stream") else "application/json"
    return httpx.Response(200, content=content, headers={"content-type": kind})


def _blocks(message: Json) -> list[Json]:
    content = message["content"]
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content)


def _error(status: int, message: str, code: str | None = None, **details: Any) -> httpx.Response:
    error: Json = {"type": _ERROR_TYPES.get(status, "api_error"), "message": message}
    if code is not None:
        error["details"] = {"error_code": code, **details}
    return httpx.Response(status, json={"type": "error", "error": error, "request_id": "req_1"})


class FakeAnthropic:
    """The Messages API with message threads, held in memory, behind a respx router."""

    def __init__(self, *, thinking: bool = False) -> None:
        self.router = respx.Router(base_url=BASE_URL, assert_all_mocked=True)
        self.threads: dict[str, _Thread] = {}
        """Reply id -> the conversation a ``continue`` from it resumes."""
        self.calls: list[Call] = []
        self.faults: list[AnthropicFault] = []
        self.thinking = thinking
        """Start each reply with a signed ``thinking`` block."""
        self.unsupported: list[str] = []
        """Refuse threaded requests naming these features (``thinking``, ``hipaa``…)."""
        self.in_flight: set[str] = set()
        """Reply ids whose continuation is still running: continuing them is refused."""
        self._cache: set[str] = set()
        self._ids = itertools.count(1)
        self.router.post("/v1/messages").mock(side_effect=self._messages)

    def client(self, *, sync: bool = False, **options: Any) -> Any:
        """An SDK client of the given face answered by this fake."""
        return anthropic_client(self.router, sync=sync, **options)

    @property
    def bodies(self) -> list[Json]:
        """The JSON body of every request, in order."""
        return [call.body for call in self.calls]

    def thread_texts(self, message_id: str) -> list[tuple[str, str]]:
        """The conversation a thread holds as (role, text) pairs; tool blocks as
        ``tool_use:NAME`` / ``tool_result:OUTPUT``."""
        pairs = []
        for message in self.threads[message_id].context:
            for block in _blocks(message):
                if block["type"] == "text":
                    pairs.append((message["role"], block["text"]))
                elif block["type"] == "tool_use":
                    pairs.append((message["role"], f"tool_use:{block['name']}"))
                elif block["type"] == "tool_result":
                    pairs.append((message["role"], f"tool_result:{block['content']}"))
        return pairs

    # -- the wire --------------------------------------------------------------------

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):04d}"

    def _messages(self, request: httpx.Request) -> httpx.Response:
        body: Json = json.loads(request.content)
        self.calls.append(Call(body, dict(request.headers), len(request.content)))
        fault = self.faults.pop(0) if self.faults else AnthropicFault()
        if fault.connect_error:
            raise httpx.ConnectError("connection refused", request=request)
        if fault.status is not None:
            response = _error(fault.status, fault.message, fault.error_code, **fault.details)
            response.headers.update(fault.headers)
            return response
        if fault.timeout:
            raise httpx.ReadTimeout("timed out", request=request)
        if fault.body is not None and not fault.store_anyway:
            return _raw(body, fault.body)
        thread = body.get("thread")
        held: _Thread | None = None
        if thread is not None:
            refusal = self._refuse_thread(request, body, thread)
            if refusal is not None:
                return refusal
            if thread["type"] == "continue":
                held = self.threads[thread["previous_message_id"]]
        context = [*(held.context if held else ()), *body["messages"]]
        system = held.system if held else body.get("system")
        tools = held.tools if held else body.get("tools")
        problem = _check(context, body)
        if problem is not None:
            return _error(400, problem)
        if held is not None:
            held.continued = True  # the server took the continuation
        message = self._reply(context, system, tools, body, fresh=len(body["messages"]))
        fell_back = message["usage"]["iterations"] is not None

        def store() -> None:
            # A refused turn, or one a fallback model wrote, is not kept to continue.
            if thread is not None and message["stop_reason"] != "refusal" and not fell_back:
                reply = {"role": "assistant", "content": message["content"]}
                model = body["model"]
                self.threads[message["id"]] = _Thread([*context, reply], system, tools, model)

        if fault.timeout_after_storing:
            store()
            raise httpx.ReadTimeout("timed out", request=request)
        if fault.reset_after_storing:
            store()
            raise httpx.ReadError("connection reset by peer", request=request)
        if fault.store_anyway:
            store()
        if fault.body is not None:
            return _raw(body, fault.body)
        if not body.get("stream"):
            store()
            return httpx.Response(200, json=message)
        events = _events(message)
        sse = {"content-type": "text/event-stream"}
        if fault.error_event_after is not None:
            error = {
                "type": "error",
                "error": {"type": "overloaded_error", "message": "Overloaded"},
            }
            content = sse_body([*events[: fault.error_event_after], error])
            return httpx.Response(200, headers=sse, content=content)
        if fault.end_after_events is not None:
            return httpx.Response(
                200, headers=sse, content=sse_body(events[: fault.end_after_events])
            )
        if fault.cut_after_events is not None:
            cut = dropped(sse_body(events[: fault.cut_after_events]))
            return httpx.Response(200, headers=sse, content=cut)
        store()
        return httpx.Response(200, headers=sse, content=sse_body(events))

    def _refuse_thread(
        self, request: httpx.Request, body: Json, thread: Json
    ) -> httpx.Response | None:
        if THREADS_BETA not in request.headers.get("anthropic-beta", ""):
            return _error(400, f"thread needs the anthropic-beta header {THREADS_BETA}")
        named = [f for f in self.unsupported if f not in _FIELD_FEATURES or f in body]
        if named:
            code = "thread_unsupported_request"
            return _error(400, "Threads do not support this request", code, unsupported=named)
        if thread["type"] != "continue":
            return None
        if "system" in body or "tools" in body:
            return _error(400, "system and tools come from the thread: omit them on continue")
        previous = thread["previous_message_id"]
        held = self.threads.get(previous)
        if held is None:
            return _error(404, f"no thread for {previous}", "thread_not_found")
        if previous in self.in_flight:
            return _error(400, "a continue is in flight", "thread_continue_in_flight")
        if held.continued:
            return _error(400, f"{previous} was continued already", "thread_already_continued")
        if body["model"] != held.model:
            return _error(400, "model differs from the thread's", "thread_fingerprint_mismatch")
        return None

    def _reply(self, context: list[Json], system: Any, tools: Any, body: Json, fresh: int) -> Json:
        last = _blocks(context[-1])
        results = [b for b in last if b["type"] == "tool_result"]
        text = "".join(b["text"] for b in last if b["type"] == "text")
        content: list[Json] = []
        if self.thinking:
            content.append({"type": "thinking", "thinking": "hmm", "signature": self._id("sig")})
        stop, iterations = "end_turn", None
        offered = {t["name"] for t in tools or ()}
        name, _, raw = text.removeprefix("/tool ").partition(" ")
        if results:
            content.append({"type": "text", "text": f"tool said {results[0]['content']}"})
        elif text.startswith("/tool ") and name in offered:
            tool_input = json.loads(raw or "{}")
            content.append({"type": "tool_use", "id": self._id("toolu"), "name": name})
            content[-1]["input"] = tool_input
            stop = "tool_use"
        elif text == "/refuse":
            content, stop = [], "refusal"
        elif text == "/overflow":
            content.append({"type": "text", "text": "partial"})
            stop = "model_context_window_exceeded"
        else:
            content.append({"type": "text", "text": f"re: {text}"})
            if text == "/fallback":
                iterations = [{"type": "fallback_message", "input_tokens": 1, "output_tokens": 1}]
        usage = self._usage(context, system, tools, body, fresh)
        usage["iterations"] = iterations
        return {
            "id": self._id("msg"),
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": usage,
        }

    def _usage(self, context: list[Json], system: Any, tools: Any, body: Json, fresh: int) -> Json:
        fixed = 10 * bool(system) + 10 * bool(tools)
        total = fixed + 10 * len(context)
        read = 0
        thread = body.get("thread") or {}
        if thread.get("type") == "continue":
            read = total - 10 * fresh  # the server held the rest
        elif body.get("cache_control") is not None:
            # Top-level cache_control: the whole prompt is written; the longest prefix
            # an earlier request wrote is read back.
            keys = [_prefix_key(body, system, tools, context[:k]) for k in range(len(context) + 1)]
            hits = [k for k in range(len(context), 0, -1) if keys[k] in self._cache]
            read = fixed + 10 * hits[0] if hits else 0
            self._cache.add(keys[-1])
            return _usage_json(0, read, total - read)
        return _usage_json(total - read, read, 0)


def _usage_json(uncached: int, read: int, written: int) -> Json:
    return {
        "input_tokens": uncached,
        "cache_read_input_tokens": read,
        "cache_creation_input_tokens": written,
        "output_tokens": 5,
    }


def _prefix_key(body: Json, system: Any, tools: Any, messages: list[Json]) -> str:
    raw = json.dumps([body["model"], system, tools, messages], sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()


def _check(context: list[Json], body: Json) -> str | None:
    """What the API would refuse in this conversation, or None."""
    if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
        return "max_tokens: a positive integer is required"
    pending: set[str] = set()
    for i, message in enumerate(context):
        role = message["role"]
        if role != ("user" if i % 2 == 0 else "assistant"):
            return f"messages.{i}: roles must alternate, starting with user"
        blocks = _blocks(message)
        answered = [b["tool_use_id"] for b in blocks if b["type"] == "tool_result"]
        leading = [b["type"] == "tool_result" for b in blocks][: len(answered)]
        if set(answered) != pending or not all(leading):
            return f"messages.{i}: tool_use ids {sorted(pending)} need tool_result blocks first"
        pending = set()
        for block in blocks:
            if block["type"] == "text" and not block["text"]:
                return f"messages.{i}: text content blocks must be non-empty"
            if block["type"] == "tool_use":
                if not _TOOL_ID.match(block["id"]):
                    return f"messages.{i}: tool_use.id must match {_TOOL_ID.pattern}"
                pending.add(block["id"])
            if block["type"] == "thinking" and not block.get("signature"):
                return f"messages.{i}: thinking blocks need their signature"
    return None


def _events(message: Json) -> list[Json]:
    """The SSE events of a reply, as the API streams it."""
    start = {**message, "content": [], "stop_reason": None}
    start["usage"] = {**message["usage"], "output_tokens": 1}
    events: list[Json] = [{"type": "message_start", "message": start}, {"type": "ping"}]
    for index, block in enumerate(message["content"]):
        kind = block["type"]
        deltas: list[Json]
        if kind == "text":
            opening: Json = {"type": "text", "text": ""}
            words = block["text"].split(" ")
            pieces = [w if i == 0 else f" {w}" for i, w in enumerate(words)]
            deltas = [{"type": "text_delta", "text": piece} for piece in pieces]
        elif kind == "tool_use":
            opening = {**block, "input": {}}
            raw = json.dumps(block["input"])
            cuts = [raw[i : i + 7] for i in range(0, len(raw), 7)]
            deltas = [{"type": "input_json_delta", "partial_json": piece} for piece in cuts]
        else:
            opening = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [
                {"type": "thinking_delta", "thinking": block["thinking"]},
                {"type": "signature_delta", "signature": block["signature"]},
            ]
        events.append({"type": "content_block_start", "index": index, "content_block": opening})
        events += [{"type": "content_block_delta", "index": index, "delta": d} for d in deltas]
        events.append({"type": "content_block_stop", "index": index})
    delta = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    usage = {"output_tokens": 5, "iterations": message["usage"]["iterations"]}
    events.append({"type": "message_delta", "delta": delta, "usage": usage})
    events.append({"type": "message_stop"})
    return events
