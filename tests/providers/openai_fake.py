"""A fake OpenAI server on respx routes, and sessions wired to it (sync and async).

(Fixtures using these live in ``conftest.py``; this module has a unique name so tests
can import `Fault` and `Flavor` from it.)

`FakeOpenAI` answers the Conversations and Responses endpoints with the real wire
format (JSON and SSE) and keeps the server-side state a real server would: the
conversations' items and the stored responses. Tests assert on what each request
carried (`FakeOpenAI.calls`) and on what the server holds afterwards. Faults are
queued per ``POST /responses`` call: an HTTP error, a refused connection, a timeout
or a reset connection after the server already stored the turn (or a timeout before it
stores it, later), a stream cut mid-way or ended early (the turn stored or not), a
``response.failed`` stream, a malformed reply.

The ``flavor`` fixture runs a test twice: an `AsyncSessionManager` with an
``openai.AsyncOpenAI`` client, and a blocking `SessionManager` with an
``openai.OpenAI`` client (its calls go through worker threads).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import respx
from engine_driver import Api

import threadline as tl
from threadline.providers.openai import OpenAIProvider
from threadline.testing import openai_client, sse_body

BASE_URL = "https://api.openai.com/v1"
Item = dict[str, Any]


@dataclass
class Call:
    """One request the fake server received."""

    method: str
    path: str
    body: Any
    size: int
    params: dict[str, str]


@dataclass
class Fault:
    """What the next ``POST /responses`` does instead of answering normally."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    error: dict[str, Any] = field(default_factory=dict)
    timeout: bool = False
    """Time out before the server did anything."""
    timeout_after_storing: bool = False
    """Store the turn in the conversation, then time out (the client never hears)."""
    input_only: bool = False
    """With ``timeout_after_storing``: store only the input (a partial turn)."""
    lands_later: bool = False
    """Time out before anything is stored, while the backend carries on: the turn is
    stored when a later call with ``land_pending`` is served."""
    land_pending: bool = False
    """Before answering, store the turn a ``lands_later`` call left in flight."""
    connect_error: bool = False
    """Refuse the connection: the request never reaches the server."""
    reset_after_storing: bool = False
    """Store the turn, then drop the connection before answering (reset by peer)."""
    cut_after_events: int | None = None
    """Stream this many events, then drop the connection."""
    end_after_events: int | None = None
    """Stream this many events, then end the body cleanly (no ``response.completed``)."""
    store_anyway: bool = False
    """With ``cut_after_events`` or ``end_after_events``: the server stores the whole
    turn although the client's stream broke (it finished on its side)."""
    failed: dict[str, Any] | None = None
    malformed: Any = None
    """Store the turn, then answer 200 with this instead of the response: bytes as
    they are, or a function of the real response JSON returning the JSON to send.
    When streaming, bytes replace the whole event stream."""


def _error_body(message: str, *, param: str | None = None, code: str | None = None) -> Item:
    return {
        "error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    }


def _text(item: Item) -> str:
    content = item.get("content")
    if isinstance(content, str):
        return content
    return "".join(c.get("text", "") for c in content or () if "text" in c)


class FakeOpenAI:
    """Conversations + Responses, held in memory, behind a respx router."""

    def __init__(self) -> None:
        self.router = respx.Router(base_url=BASE_URL, assert_all_mocked=True)
        self.conversations: dict[str, list[Item]] = {}
        self.metadata: dict[str, dict[str, str]] = {}
        self.stored: dict[str, list[Item]] = {}  # response id -> whole context after it
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.reasoning = False
        self.delete_status: int | None = None
        self._in_flight: list[Any] = []  # stores of ``lands_later`` calls, oldest first
        """Answer ``DELETE /conversations/{id}`` with this error status instead."""
        self._ids = itertools.count(1)
        r = self.router
        r.post("/conversations").mock(side_effect=self._create_conversation)
        r.post(path__regex=r"/conversations/(?P<cid>[^/]+)/items$").mock(
            side_effect=self._add_items
        )
        r.get(path__regex=r"/conversations/(?P<cid>[^/]+)/items$").mock(
            side_effect=self._list_items
        )
        r.delete(path__regex=r"/conversations/(?P<cid>[^/]+)$").mock(
            side_effect=self._delete_conversation
        )
        r.post("/responses").mock(side_effect=self._responses)

    # -- helpers for tests -----------------------------------------------------------

    def client(self, *, sync: bool = False) -> Any:
        return openai_client(self.router, sync=sync)

    def requests(self, method: str, path: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path == path]

    @property
    def response_bodies(self) -> list[Item]:
        """The JSON body of every ``POST /responses``, in order."""
        return [c.body for c in self.requests("POST", "/v1/responses")]

    def texts(self, conversation: str) -> list[tuple[str, str]]:
        """A conversation as (role or type, text) pairs, oldest first."""
        out = []
        for item in self.conversations[conversation]:
            if item["type"] == "message":
                out.append((item["role"], _text(item)))
            elif item["type"] == "function_call_output":
                out.append(("function_call_output", item["output"]))
            elif item["type"] == "function_call":
                out.append(("function_call", item["name"]))
            else:
                out.append((item["type"], ""))
        return out

    # -- the wire --------------------------------------------------------------------

    def _record(self, request: httpx.Request) -> Any:
        body = json.loads(request.content) if request.content else None
        self.calls.append(
            Call(
                request.method,
                request.url.path,
                body,
                len(request.content),
                dict(request.url.params),
            )
        )
        return body

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):04d}"

    def _stored_item(self, item: Item) -> Item:
        """An input item as the server stores it (typed, with an id and a status)."""
        item = dict(item)
        kind = item.setdefault("type", "message")
        if kind == "message":
            content = item["content"]
            text_type = "output_text" if item["role"] == "assistant" else "input_text"
            if isinstance(content, str):
                content = [{"type": text_type, "text": content}]
            item["content"] = content
            item.setdefault("id", self._id("msg"))
        else:
            prefix = {"function_call": "fc", "function_call_output": "fco", "reasoning": "rs"}
            item.setdefault("id", self._id(prefix.get(kind, "item")))
        item.setdefault("status", "completed")
        return item

    def _create_conversation(self, request: httpx.Request) -> httpx.Response:
        body = self._record(request)
        items = body.get("items") or []
        if len(items) > 20:
            return httpx.Response(400, json=_error_body("at most 20 items", param="items"))
        cid = self._id("conv")
        self.conversations[cid] = [self._stored_item(i) for i in items]
        self.metadata[cid] = body.get("metadata") or {}
        return httpx.Response(
            200,
            json={
                "id": cid,
                "object": "conversation",
                "created_at": 1,
                "metadata": self.metadata[cid],
            },
        )

    def _missing(self, cid: str) -> httpx.Response:
        return httpx.Response(404, json=_error_body(f"Conversation with id '{cid}' not found."))

    def _add_items(self, request: httpx.Request, cid: str) -> httpx.Response:
        body = self._record(request)
        if cid not in self.conversations:
            return self._missing(cid)
        if len(body["items"]) > 20:
            return httpx.Response(400, json=_error_body("at most 20 items", param="items"))
        added = [self._stored_item(i) for i in body["items"]]
        self.conversations[cid].extend(added)
        return httpx.Response(200, json=self._page(added, has_more=False))

    def _page(self, items: list[Item], *, has_more: bool) -> Item:
        return {
            "object": "list",
            "data": items,
            "first_id": items[0]["id"] if items else None,
            "last_id": items[-1]["id"] if items else None,
            "has_more": has_more,
        }

    def _list_items(self, request: httpx.Request, cid: str) -> httpx.Response:
        self._record(request)
        if cid not in self.conversations:
            return self._missing(cid)
        params = request.url.params
        items = list(self.conversations[cid])
        if params.get("order", "desc") == "desc":
            items.reverse()
        limit = int(params.get("limit", "20"))
        return httpx.Response(200, json=self._page(items[:limit], has_more=len(items) > limit))

    def _delete_conversation(self, request: httpx.Request, cid: str) -> httpx.Response:
        self._record(request)
        if self.delete_status is not None:
            return httpx.Response(self.delete_status, json=_error_body("cannot delete now"))
        if self.conversations.pop(cid, None) is None:
            return self._missing(cid)
        return httpx.Response(
            200, json={"id": cid, "object": "conversation.deleted", "deleted": True}
        )

    def _reply(self, context: list[Item], body: Item) -> list[Item]:
        last = context[-1]
        output: list[Item] = []
        if self.reasoning:
            reasoning: Item = {
                "type": "reasoning",
                "id": self._id("rs"),
                "summary": [{"type": "summary_text", "text": "thinking"}],
                "status": "completed",
            }
            if "reasoning.encrypted_content" in (body.get("include") or []):
                reasoning["encrypted_content"] = f"enc:{reasoning['id']}"
            output.append(reasoning)
        text = _text(last) if last["type"] == "message" else ""
        offered = {t["name"] for t in body.get("tools") or ()}
        name, _, raw = text.removeprefix("/tool ").partition(" ")
        if text.startswith("/tool ") and name in offered:
            output.append(
                {
                    "type": "function_call",
                    "id": self._id("fc"),
                    "call_id": self._id("call"),
                    "name": name,
                    "arguments": raw or "{}",
                    "status": "completed",
                }
            )
            return output
        answer = (
            f"tool said {last['output']}"
            if last["type"] == "function_call_output"
            else f"re: {text}"
        )
        output.append(
            {
                "type": "message",
                "id": self._id("msg"),
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": answer, "annotations": []}],
            }
        )
        return output

    def _response(
        self, body: Item, rid: str, status: str, output: list[Item], usage: Item | None
    ) -> Item:
        conversation = body.get("conversation")
        return {
            "id": rid,
            "object": "response",
            "created_at": 1,
            "model": f"{body['model']}-2026-01-01",
            "status": status,
            "output": output,
            "usage": usage,
            "error": None,
            "incomplete_details": None,
            "instructions": body.get("instructions"),
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": body.get("tools") or [],
            "store": body.get("store", True),
            "previous_response_id": body.get("previous_response_id"),
            "conversation": {"id": conversation} if conversation else None,
        }

    def _responses(self, request: httpx.Request) -> httpx.Response:
        body = self._record(request)
        fault = self.faults.pop(0) if self.faults else Fault()
        if fault.connect_error:
            raise httpx.ConnectError("connection refused", request=request)
        if fault.land_pending:
            for landed in self._in_flight:
                landed()
            self._in_flight.clear()
        if fault.status is not None:
            error = {"message": "boom", "type": "server_error", "param": None, "code": None}
            return httpx.Response(
                fault.status, headers=fault.headers, json={"error": {**error, **fault.error}}
            )
        if fault.timeout:
            raise httpx.ReadTimeout("timed out", request=request)
        cid, previous = body.get("conversation"), body.get("previous_response_id")
        if cid is not None and cid not in self.conversations:
            return self._missing(cid)
        if previous is not None and previous not in self.stored:
            message = f"Previous response with id '{previous}' not found."
            error = _error_body(
                message, param="previous_response_id", code="previous_response_not_found"
            )
            return httpx.Response(400, json=error)
        held = self.conversations[cid] if cid else self.stored[previous] if previous else []
        new = [self._stored_item(i) for i in body["input"]]
        context = [*held, *new]
        output = self._reply(context, body)
        rid = self._id("resp")
        usage = {
            "input_tokens": 10 * len(context),
            "input_tokens_details": {"cached_tokens": 10 * len(held), "cache_write_tokens": 0},
            "output_tokens": 5,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 10 * len(context) + 5,
        }
        response = self._response(body, rid, "completed", output, usage)

        def store() -> None:
            if cid is not None:
                self.conversations[cid].extend(new if fault.input_only else [*new, *output])
            if body.get("store", True):
                self.stored[rid] = [*context, *output]

        if fault.failed is not None:
            failed = {**self._response(body, rid, "failed", [], None), "error": fault.failed}
            events = [{"type": "response.failed", "sequence_number": 1, "response": failed}]
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content=sse_body(events)
            )
        if fault.malformed is not None:
            store()
            if isinstance(fault.malformed, bytes):
                kind = "text/event-stream" if body.get("stream") else "application/json"
                return httpx.Response(200, headers={"content-type": kind}, content=fault.malformed)
            if body.get("stream"):
                final = fault.malformed(response)
                events = [{"type": "response.completed", "sequence_number": 1, "response": final}]
                return httpx.Response(
                    200, headers={"content-type": "text/event-stream"}, content=sse_body(events)
                )
            return httpx.Response(200, json=fault.malformed(response))
        if fault.timeout_after_storing:
            store()
            raise httpx.ReadTimeout("timed out", request=request)
        if fault.reset_after_storing:
            store()
            raise httpx.ReadError("connection reset by peer", request=request)
        if fault.lands_later:
            self._in_flight.append(store)
            raise httpx.ReadTimeout("timed out", request=request)
        if not body.get("stream"):
            store()
            return httpx.Response(200, json=response)
        events = self._events(response)
        broken = fault.end_after_events is not None or fault.cut_after_events is not None
        if not broken or fault.store_anyway:
            store()
        if fault.end_after_events is not None:
            body_bytes = sse_body(events[: fault.end_after_events])
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content=body_bytes
            )
        if fault.cut_after_events is None:
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content=sse_body(events)
            )
        return httpx.Response(
            200,
            headers={"content-type": "text/event-stream"},
            content=_cut(sse_body(events[: fault.cut_after_events])),
        )

    def _events(self, response: Item) -> list[Item]:
        created = {**response, "status": "in_progress", "output": [], "usage": None}
        events: list[Item] = [{"type": "response.created", "response": created}]
        for index, item in enumerate(response["output"]):
            events.append(
                {"type": "response.output_item.added", "output_index": index, "item": item}
            )
            if item["type"] == "message":
                text = item["content"][0]["text"]
                for i, word in enumerate(text.split(" ")):
                    events.append(
                        {
                            "type": "response.output_text.delta",
                            "item_id": item["id"],
                            "output_index": index,
                            "content_index": 0,
                            "delta": word if i == 0 else f" {word}",
                            "logprobs": [],
                        }
                    )
                events.append(
                    {
                        "type": "response.output_text.done",
                        "item_id": item["id"],
                        "output_index": index,
                        "content_index": 0,
                        "text": text,
                        "logprobs": [],
                    }
                )
            events.append(
                {"type": "response.output_item.done", "output_index": index, "item": item}
            )
        events.append({"type": "response.completed", "response": response})
        return [{**e, "sequence_number": n} for n, e in enumerate(events)]


def _cut(body: bytes) -> Iterator[bytes]:
    """A body that stops mid-stream with a dropped connection."""
    yield body
    raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")


# -- sessions ------------------------------------------------------------------------


class Flavor:
    """The sync or async API over one fake server, used the same way in every test.

    ``create()`` returns a session whose methods are always awaited: the async session
    itself, or a blocking session whose calls run in a worker thread.
    """

    def __init__(self, name: str, server: FakeOpenAI, telemetry: Any) -> None:
        self.name = name
        self.server = server
        self.sync = name == "sync"
        self.telemetry = telemetry
        self.managers: list[Any] = []

    def manager(
        self, *, native: str = "conversations", max_attempts: int = 4, **options: Any
    ) -> Any:
        provider = OpenAIProvider(client=self.server.client(sync=self.sync), native=native)  # type: ignore[arg-type]
        options.setdefault("store", "memory://")
        options.update(
            providers=[provider, *options.pop("providers", ())],
            retry=tl.RetryPolicy(max_attempts=max_attempts, initial_backoff=0, max_backoff=30),
            **self.telemetry.manager_options,
        )
        store = options.pop("store")
        manager = (
            tl.SessionManager(store, **options)
            if self.sync
            else tl.AsyncSessionManager(store, **options)
        )
        self.managers.append(manager)
        return Api(manager, self.sync)

    async def create(self, **options: Any) -> Any:
        native = options.pop("native", "conversations")
        manager = self.manager(native=native, max_attempts=options.pop("max_attempts", 4))
        options.setdefault("provider", "openai")
        return await manager.create(**options)

    def events(self, name: str) -> list[dict[str, Any]]:
        """The attributes of every span event called ``name`` so far."""
        return [
            dict(event.attributes or {})
            for span in self.telemetry.spans()
            for event in span.events
            if event.name == name
        ]

    async def close(self) -> None:
        for manager in self.managers:
            await Api(manager, self.sync).close()
