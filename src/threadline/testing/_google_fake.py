"""A fake Gemini API, for testing code built on threadline's Google adapter offline.

`FakeGemini` answers the Interactions API (``POST /{version}/interactions``, JSON and
SSE; ``GET`` and ``DELETE /{version}/interactions/{id}``) and ``models.generate_content``
/ ``generate_content_stream`` on a ``respx`` router, in the real wire formats (snake_case
interactions whose stream events name themselves in ``event_type``; camelCase
generateContent). It keeps what a real server keeps: every stored interaction with
its ``previous_interaction_id``, so a chain's context is what threadline sent along it.
Vertex AI paths (``/v1beta1/projects/{p}/locations/{l}/...``) are answered too.
`google_client` wires a ``genai.Client`` (both faces: ``client`` and ``client.aio``)
to any router.

```python
from threadline.providers.google import GoogleProvider
from threadline.testing import FakeGemini

fake = FakeGemini()
provider = GoogleProvider(client=fake.client())
...
assert fake.bodies[-1]["previous_interaction_id"] == session.native_id
```

The fake answers ``re: <your text>``; ``/tool NAME {json}`` calls tool NAME if the
request offers it; a tool result is answered ``tool said <result>``. It checks what
the API refuses: an unknown or unfinished ``previous_interaction_id`` (404 / 400), a
tool call left unanswered, and (``thinking=True``) a generateContent call of the
current turn sent back without its thought signature. Tokens are billed predictably:
10 per context step or content, 5 out (plus 3 thinking); the held part of a chain
counts as cached. Set ``hops`` for a reply split over automatic-continuation hops,
and queue a `GeminiFault` in ``faults`` to fail the next model request: an HTTP error,
a refused connection, a timeout before or after the server stored the interaction, a
connection reset after it stored it, a stream cut, ended early or failed by an
``error`` event, a malformed body (``store_anyway``: with the interaction stored all
the same), an interaction that ends failed, cancelled or incomplete.
Needs ``httpx``, ``httpx2`` and ``respx`` (test dependencies).
"""

from __future__ import annotations

import base64
import itertools
import json
import ssl
from dataclasses import dataclass
from functools import cache
from typing import Any

import httpx
import respx

from ._faults import WireFault
from ._google_fake_wire import (
    Json,
    content_chunks,
    content_reply,
    cut,
    error_response,
    interaction_events,
    normalize_input,
    sse,
    unanswered,
    user_text,
)
from ._httpx2 import RespxTransport

__all__ = ["BASE_URL", "FakeGemini", "GeminiFault", "google_client"]

BASE_URL = "https://generativelanguage.googleapis.com"
_SCOPE = r"/(?P<version>v1\w*)(?:/projects/[^/]+/locations/[^/]+)?"
_CONTINUABLE = frozenset({"completed", "requires_action", "failed", "cancelled", "incomplete"})


@cache
def _unused_ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def google_client(
    router: respx.Router,
    *,
    vertexai: bool = False,
    project: str = "test-project",
    location: str = "us-central1",
    api_key: str = "test-key",
) -> Any:
    """A ``genai.Client`` answered by ``router`` (``client`` and ``client.aio`` both):
    SDK retries off; a dummy API key, or on Vertex AI a dummy access token."""
    from google import genai
    from google.genai import types

    transport = RespxTransport(router)
    # The transport answers every request, so TLS is never used; an SSL context given
    # here spares the SDK loading the CA bundle for each client (~0.1 s apiece).
    ssl_context = _unused_ssl_context()
    http_options = types.HttpOptions(
        client_args={"transport": transport, "verify": ssl_context},
        async_client_args={"transport": transport, "verify": ssl_context, "ssl": ssl_context},
        retry_options=types.HttpRetryOptions(attempts=1),
    )
    if vertexai:
        from google.oauth2.credentials import Credentials

        return genai.Client(
            vertexai=True,
            project=project,
            location=location,
            credentials=Credentials(token="test-token"),  # type: ignore[no-untyped-call]
            http_options=http_options,
        )
    return genai.Client(api_key=api_key, http_options=http_options)


@dataclass
class Call:
    """One request the fake received."""

    method: str
    path: str
    body: Json
    size: int
    """Bytes of the request body."""


@dataclass
class GeminiFault(WireFault):
    """What the next model request (create or generateContent) does instead; a
    ``status`` error has a Google error body."""

    error_status: str | None = None
    """The body's ``error.status`` (``RESOURCE_EXHAUSTED``...); by HTTP status if None."""
    content_type: str | None = None
    """With ``body``: its content type (else SSE for a stream, JSON otherwise)."""
    store_anyway: bool = False
    """With ``body`` on an interaction: store the interaction all the same (only the
    reply is unreadable). A cut or ended interaction stream always stores it."""
    interaction_status: str | None = None
    """Store and answer the interaction in this status (``failed``, ``cancelled``...)."""
    error_code: str = "INTERNAL"
    """With ``interaction_status="failed"``: the interaction's error code."""


def _raw(body: Json, fault: GeminiFault) -> httpx.Response:
    """A 200 carrying ``fault.body`` as it is."""
    kind = "text/event-stream" if body.get("stream") else "application/json"
    return httpx.Response(
        200, content=fault.body, headers={"content-type": fault.content_type or kind}
    )


class FakeGemini:
    """Interactions and generateContent, held in memory, behind a respx router."""

    def __init__(self, *, thinking: bool = False, call_ids: bool = False) -> None:
        self.router = respx.Router(assert_all_mocked=True)
        self.interactions: dict[str, Json] = {}
        self.calls: list[Call] = []
        self.faults: list[GeminiFault] = []
        self.thinking = thinking
        """Replies start with a signed thought (a ``thought`` step; a thought part)."""
        self.call_ids = call_ids
        """generateContent function calls carry an ``id`` (else threadline makes one)."""
        self.hops = 1
        """Split the next interaction's reply over this many continuation hops."""
        self.delete_status: int | None = None
        """Answer ``DELETE /interactions/{id}`` with this error status instead."""
        self._ids = itertools.count(1)
        self._pending: dict[str, Json] = {}  # continuation token -> the rest of a reply
        r = self.router
        r.post(path__regex=rf"^{_SCOPE}/interactions$").mock(side_effect=self._create)
        one = rf"^{_SCOPE}/interactions/(?P<iid>[^/]+)$"
        r.get(path__regex=one).mock(side_effect=self._get)
        r.delete(path__regex=one).mock(side_effect=self._delete)
        models = rf"^{_SCOPE}(?:/publishers/google)?/models/(?P<model>[^/:]+):(?P<method>\w+)$"
        r.post(path__regex=models).mock(side_effect=self._generate)

    def client(self, **options: Any) -> Any:
        """A ``genai.Client`` answered by this fake (``vertexai=True`` for Vertex AI)."""
        return google_client(self.router, **options)

    @property
    def bodies(self) -> list[Json]:
        """The JSON body of every model request (create, generateContent), in order."""
        return [c.body for c in self.calls if c.method == "POST"]

    def requests(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def chain(self, interaction_id: str) -> list[str]:
        """The ids of a chain, oldest first, ending with ``interaction_id``."""
        ids: list[str] = []
        current: str | None = interaction_id
        while current is not None:
            ids.append(current)
            current = self.interactions[current].get("previous_interaction_id")
        return ids[::-1]

    def context(self, interaction_id: str) -> list[Json]:
        """Every step a chain holds (inputs and outputs), oldest first."""
        steps: list[Json] = []
        for iid in self.chain(interaction_id):
            steps += self.interactions[iid]["input"] + self.interactions[iid]["steps"]
        return steps

    def texts(self, interaction_id: str) -> list[str]:
        """The chain's user and model texts (``call:NAME`` / ``result:…`` for tools)."""
        out = []
        for step in self.context(interaction_id):
            kind = step["type"]
            if kind in ("user_input", "model_output"):
                out.append("".join(b.get("text", "") for b in step.get("content") or ()))
            elif kind == "function_call":
                out.append(f"call:{step['name']}")
            elif kind == "function_result":
                out.append(f"result:{step['result']}")
        return out

    # -- the wire --------------------------------------------------------------------

    def _record(self, request: httpx.Request) -> Json:
        body: Json = json.loads(request.content) if request.content else {}
        self.calls.append(Call(request.method, request.url.path, body, len(request.content)))
        return body

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):04d}"

    def _fault(self, request: httpx.Request) -> GeminiFault:
        fault = self.faults.pop(0) if self.faults else GeminiFault()
        if fault.connect_error:
            raise httpx.ConnectError("connection refused", request=request)
        if fault.timeout:
            raise httpx.ReadTimeout("timed out", request=request)
        return fault

    def _create(self, request: httpx.Request, version: str) -> httpx.Response:
        body = self._record(request)
        fault = self._fault(request)
        if fault.status is not None:
            return error_response(fault.status, fault.message, fault.error_status, fault.headers)
        if fault.body is not None and not fault.store_anyway:
            return _raw(body, fault)
        previous = body.get("previous_interaction_id")
        token = body.get("continuation_token")
        held: list[Json] = []
        if previous is not None:
            stored = self.interactions.get(previous)
            if stored is None:
                return error_response(404, f"Interaction '{previous}' was not found.")
            status = stored["status"]
            if status not in _CONTINUABLE and not (token and status == "requires_continuation"):
                message = f"previous_interaction_id {previous} is not in a terminal state"
                return error_response(400, message, "FAILED_PRECONDITION")
            held = self.context(previous)
        if token is not None:
            rest = self._pending.pop(token, None)
            if rest is None or previous is None:
                return error_response(400, "continuation_token is not valid")
            steps, new_input = rest["steps"], []
        elif "input" not in body:
            return error_response(400, "input is required")
        else:
            new_input = normalize_input(body["input"])
            problem = unanswered(held, new_input)
            if problem:
                return error_response(400, problem)
            steps = self._reply_steps(held + new_input, body.get("tools") or [])
        interaction = self._store(body, previous, new_input, steps, held, fault)
        if fault.timeout_after_storing:
            raise httpx.ReadTimeout("timed out", request=request)
        if fault.reset_after_storing:
            raise httpx.ReadError("connection reset by peer", request=request)
        if fault.body is not None:
            return _raw(body, fault)
        if not body.get("stream"):
            return httpx.Response(200, json=interaction)
        events = interaction_events(interaction)
        if fault.error_event_after is not None:
            error = {"event_type": "error", "error": {"code": "INTERNAL", "message": "failed"}}
            events = [*events[: fault.error_event_after], error]
        elif fault.end_after_events is not None:
            events = events[: fault.end_after_events]
        headers = {"content-type": "text/event-stream"}
        if fault.cut_after_events is not None:
            return httpx.Response(200, headers=headers, content=cut(events, fault.cut_after_events))
        return httpx.Response(200, headers=headers, content=sse(events))

    def _reply_steps(self, context: list[Json], tools: list[Json]) -> list[Json]:
        last = context[-1] if context else {}
        steps: list[Json] = []
        if self.thinking:
            signature = base64.b64encode(self._id("sig").encode()).decode()
            steps.append({"type": "thought", "signature": signature, "summary": []})
        offered = {t.get("name") for t in tools if t.get("type") == "function"}
        if last.get("type") == "function_result":
            text = f"tool said {last['result']}"
        else:
            text = user_text(last)
            name, _, raw = text.removeprefix("/tool ").partition(" ")
            if text.startswith("/tool ") and name in offered:
                arguments = json.loads(raw or "{}")
                call = {"type": "function_call", "id": self._id("call"), "name": name}
                return [*steps, {**call, "arguments": arguments}]
            text = f"re: {text}"
        return [*steps, {"type": "model_output", "content": [{"type": "text", "text": text}]}]

    def _store(
        self,
        body: Json,
        previous: str | None,
        new_input: list[Json],
        steps: list[Json],
        held: list[Json],
        fault: GeminiFault,
    ) -> Json:
        status = (
            "requires_action" if steps and steps[-1]["type"] == "function_call" else "completed"
        )
        if self.hops > 1 and steps and steps[-1]["type"] == "model_output":
            # Cut the text in two: this hop ends at the per-request limit.
            text = steps[-1]["content"][0]["text"]
            half = len(text) // 2
            token = self._id("tok")
            rest = {"type": "model_output", "content": [{"type": "text", "text": text[half:]}]}
            self._pending[token] = {"steps": [rest]}
            steps = [
                *steps[:-1],
                {"type": "model_output", "content": [{"type": "text", "text": text[:half]}]},
            ]
            self.hops -= 1
            status = "requires_continuation"
        else:
            token = None
        status = fault.interaction_status or status
        context = 10 * (len(held) + len(new_input))
        usage = {
            "total_input_tokens": context,
            "total_cached_tokens": 10 * len(held),
            "total_output_tokens": 5,
            "total_thought_tokens": 3 if self.thinking else 0,
        }
        iid = self._id("int")
        interaction: Json = {
            "id": iid,
            "object": "interaction",
            "model": body.get("model"),
            "status": status,
            "steps": steps,
            "usage": usage,
            "created": "2026-12-01T00:00:00Z",
        }
        if token:
            interaction["continuation_token"] = token
        if previous:
            interaction["previous_interaction_id"] = previous
        if fault.interaction_status == "failed":
            interaction["errors"] = [{"code": fault.error_code, "message": "the model failed"}]
        self.interactions[iid] = {**interaction, "input": new_input}
        return interaction

    def _get(self, request: httpx.Request, version: str, iid: str) -> httpx.Response:
        self._record(request)
        stored = self.interactions.get(iid)
        if stored is None:
            return error_response(404, f"Interaction '{iid}' was not found.")
        steps = [*stored["input"], *stored["steps"]]
        public = {k: v for k, v in stored.items() if k != "input"}
        return httpx.Response(200, json={**public, "steps": steps})

    def _delete(self, request: httpx.Request, version: str, iid: str) -> httpx.Response:
        self._record(request)
        if self.delete_status is not None:
            return error_response(self.delete_status, "cannot delete now")
        if self.interactions.pop(iid, None) is None:
            return error_response(404, f"Interaction '{iid}' was not found.")
        return httpx.Response(200, json={})

    def _generate(
        self, request: httpx.Request, version: str, model: str, method: str
    ) -> httpx.Response:
        body = self._record(request)
        fault = self._fault(request)
        if fault.status is not None:
            return error_response(fault.status, fault.message, fault.error_status, fault.headers)
        stream = method == "streamGenerateContent"
        if fault.body is not None:
            kind = "text/event-stream" if stream else "application/json"
            return httpx.Response(200, content=fault.body, headers={"content-type": kind})
        reply = content_reply(body, model, self._id("resp"), self.thinking, self.call_ids)
        if isinstance(reply, str):
            return error_response(400, reply)
        if not stream:
            return httpx.Response(200, json=reply)
        chunks = content_chunks(reply)
        headers = {"content-type": "text/event-stream"}
        if fault.cut_after_events is not None:
            return httpx.Response(200, headers=headers, content=cut(chunks, fault.cut_after_events))
        if fault.end_after_events is not None:
            chunks = chunks[: fault.end_after_events]
        return httpx.Response(200, headers=headers, content=sse(chunks))
