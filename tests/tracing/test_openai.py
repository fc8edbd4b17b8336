"""An OpenAI turn, respx-mocked: the CLIENT spans and their GenAI attributes.

A small fake of the two endpoints a first native turn uses (``POST /conversations``,
``POST /responses``) plus conversation deletion. The client reads its API key from
``OPENAI_API_KEY``, set to a sentinel that must never reach telemetry.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx
from opentelemetry.trace import SpanKind, StatusCode

import threadline as tl
from threadline.providers.openai import OpenAIProvider
from threadline.testing import TelemetryCapture, openai_client

SENTINEL_KEY = "sk-proj-SENTINEL-never-in-telemetry-0000"
BASE_URL = "https://api.openai.com/v1"
MODEL = "gpt-5.5"


def response_json(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "resp_0001",
        "object": "response",
        "created_at": 1,
        "model": "gpt-5.5-2026-01-01",
        "status": "completed",
        "output": [
            {
                "type": "message",
                "id": "msg_0001",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": "Lisbon, quietly.", "annotations": []}],
            }
        ],
        "usage": {
            "input_tokens": 120,
            "input_tokens_details": {"cached_tokens": 100},
            "output_tokens": 7,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 127,
        },
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "store": True,
        "previous_response_id": None,
        "conversation": {"id": body["conversation"]} if body.get("conversation") else None,
    }


class Server:
    """The endpoints of one native turn; ``rate_limited`` answers 429 that many times."""

    def __init__(self) -> None:
        self.router = respx.Router(base_url=BASE_URL, assert_all_mocked=True)
        self.rate_limited = 0
        self.responses_calls = 0
        self.router.post("/conversations").respond(
            json={"id": "conv_0001", "object": "conversation", "created_at": 1, "metadata": {}}
        )
        self.router.post("/responses").mock(side_effect=self.responses)
        self.router.delete("/conversations/conv_0001").respond(
            json={"id": "conv_0001", "object": "conversation.deleted", "deleted": True}
        )

    def responses(self, request: httpx.Request) -> httpx.Response:
        self.responses_calls += 1
        if self.rate_limited:
            self.rate_limited -= 1
            error = {"message": "Rate limit reached", "type": "requests", "param": None}
            return httpx.Response(429, json={"error": {**error, "code": "rate_limit_exceeded"}})
        return httpx.Response(200, json=response_json(json.loads(request.content)))


@pytest.fixture
def server() -> Server:
    return Server()


@pytest.fixture
async def manager(
    server: Server, telemetry: TelemetryCapture, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tl.AsyncSessionManager]:
    monkeypatch.setenv("OPENAI_API_KEY", SENTINEL_KEY)
    client = openai_client(server.router, api_key=None)  # the SDK reads OPENAI_API_KEY
    assert client.api_key == SENTINEL_KEY
    async with tl.AsyncSessionManager(
        "memory://",
        providers=[OpenAIProvider(client=client)],
        retry=tl.RetryPolicy(max_attempts=3),
        **telemetry.manager_options,
    ) as manager:
        yield manager


async def test_openai_turn_client_span(
    manager: tl.AsyncSessionManager, telemetry: TelemetryCapture
) -> None:
    """The chat span is the send span's child and carries the response's GenAI facts."""
    s = await manager.create(provider="openai", model=MODEL, system="Be terse.")
    reply = await s.send("Where should I go this weekend?")
    assert reply.text == "Lisbon, quietly."

    send = telemetry.span("threadline.send")
    chat = telemetry.span(f"chat {MODEL}")
    assert chat.kind is SpanKind.CLIENT
    assert chat.parent is not None and send.context is not None
    assert chat.parent.span_id == send.context.span_id
    assert chat.status.status_code is StatusCode.UNSET
    assert dict(chat.attributes or {}) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": MODEL,
        "gen_ai.response.model": "gpt-5.5-2026-01-01",
        "gen_ai.response.id": "resp_0001",
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 120,
        "gen_ai.usage.output_tokens": 7,
        "gen_ai.usage.cache_read.input_tokens": 100,
        "gen_ai.conversation.id": s.id,
    }
    assert dict(send.attributes or {}) == {
        "gen_ai.conversation.id": s.id,
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": MODEL,
        "threadline.session.mode": "native",
        "threadline.store": "memory",
    }

    # Creating the server-side conversation is a CLIENT span of its own.
    create = telemetry.span("create_conversation")
    assert create.kind is SpanKind.CLIENT
    assert create.parent is not None and chat.context is not None
    assert create.parent.span_id == chat.context.span_id
    assert dict(create.attributes or {}) == {
        "gen_ai.operation.name": "create_conversation",
        "gen_ai.provider.name": "openai",
        "gen_ai.conversation.id": s.id,
    }

    (duration,) = telemetry.points("gen_ai.client.operation.duration")
    assert dict(duration.attributes or {}) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": MODEL,
        "gen_ai.response.model": "gpt-5.5-2026-01-01",
    }
    tokens = {
        (p.attributes or {})["gen_ai.token.type"]: p.sum
        for p in telemetry.points("gen_ai.client.token.usage")
    }
    assert tokens == {"input": 120, "output": 7}

    # Deleting the session deletes the conversation, under its own CLIENT span.
    await s.delete()
    deleted = telemetry.span("delete_conversation")
    assert deleted.kind is SpanKind.CLIENT
    assert (deleted.attributes or {})["gen_ai.provider.name"] == "openai"


async def test_openai_telemetry_holds_no_key_and_no_content(
    manager: tl.AsyncSessionManager, telemetry: TelemetryCapture
) -> None:
    """Every recorded value is free of the API key and of the conversation's text."""
    s = await manager.create(provider="openai", model=MODEL, system="Be terse.")
    await s.send("Where should I go this weekend?")
    await s.delete()
    everything = "\n".join(telemetry.values())
    assert "resp_0001" in everything  # the search had something to search
    assert SENTINEL_KEY not in everything
    for text in ("weekend", "Lisbon", "Be terse"):
        assert text not in everything


async def test_openai_429_exhausting_retries(
    manager: tl.AsyncSessionManager,
    server: Server,
    telemetry: TelemetryCapture,
    no_sleep: list[float],
) -> None:
    """Three 429s, three attempts: rate_limited on send and chat, two retry events,
    and one conversation created, not three."""
    server.rate_limited = 3
    s = await manager.create(provider="openai", model=MODEL)
    with pytest.raises(tl.RateLimitError, match="openai 429"):
        await s.send("hello")
    assert server.responses_calls == 3
    assert len(telemetry.spans("create_conversation")) == 1
    chat = telemetry.span(f"chat {MODEL}")
    for span in (telemetry.span("threadline.send"), chat):
        assert (span.attributes or {})["error.type"] == "rate_limited"
        assert span.status.status_code is StatusCode.ERROR
    retries = [dict(e.attributes or {}) for e in chat.events if e.name == "threadline.retry"]
    assert [(r["attempt"], r["error.type"]) for r in retries] == [
        (1, "rate_limited"),
        (2, "rate_limited"),
    ]
    (duration,) = telemetry.points("gen_ai.client.operation.duration")
    assert (duration.attributes or {})["error.type"] == "rate_limited"
    assert SENTINEL_KEY not in "\n".join(telemetry.values())
