"""Streaming OpenAI turns, and tool calls (streamed or not) round-tripping to the model."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from openai_fake import Fault

import threadline as tl

if TYPE_CHECKING:
    from openai_fake import Flavor

WEATHER = tl.Tool(
    name="get_weather",
    description="Weather for a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)


async def test_stream_yields_text_deltas_then_the_mirrored_reply(flavor: Flavor) -> None:
    """Text arrives as the server's ``output_text.delta`` pieces; ``done`` carries the
    mirrored reply, with usage from ``response.completed``."""
    server = flavor.server
    s = await flavor.create(system="sys")
    await s.send("first")

    events = await s.stream("tell me more")

    assert [e.type for e in events] == ["text", "text", "text", "text", "done"]
    assert [e.text for e in events[:-1]] == ["re:", " tell", " me", " more"]
    done = events[-1].message
    assert done.text == "re: tell me more"
    assert done.usage == tl.Usage(input_tokens=30, output_tokens=5, cached_input_tokens=20)
    assert s.messages[-1] == done
    body = server.response_bodies[-1]
    assert body["stream"] is True
    assert body["conversation"] == s.native_id
    assert body["input"] == [{"role": "user", "content": "tell me more"}]
    assert body["instructions"] == "sys"


async def test_a_stream_cut_midway_raises_and_leaves_the_mirror_unchanged(flavor: Flavor) -> None:
    """The connection drops after some text: `ProviderUnavailableError` (ambiguous:
    the server may finish the turn), nothing mirrored, and the next turn re-seeds
    instead of trusting the conversation."""
    server = flavor.server
    s = await flavor.create()
    await s.send("first")
    before = [m.id for m in s.messages]
    server.faults = [Fault(cut_after_events=4)]

    with pytest.raises(
        tl.ProviderUnavailableError, match="the connection failed or was cut"
    ) as caught:
        await s.stream("second")

    assert caught.value.ambiguous and caught.value.retryable
    assert [m.id for m in s.messages] == before
    assert s.native_id is None
    await s.send("third")
    assert [t for _, t in server.texts(s.native_id)] == ["first", "re: first", "third", "re: third"]


async def test_a_stream_that_ends_without_completing_is_an_error(flavor: Flavor) -> None:
    """A body that ends before ``response.completed`` is not a reply."""
    server = flavor.server
    s = await flavor.create()
    server.faults = [Fault(end_after_events=3)]

    with pytest.raises(tl.ProviderError, match=r"response\.completed"):
        await s.stream("hi")

    assert s.messages == []


async def test_response_failed_raises_the_servers_error(flavor: Flavor) -> None:
    """``response.failed`` → a `ProviderError` with the server's message; a final
    failure (not a server error) is not retried."""
    server = flavor.server
    s = await flavor.create()
    server.faults = [Fault(failed={"code": "invalid_prompt", "message": "Prompt was rejected."})]

    with pytest.raises(tl.ProviderError, match="Prompt was rejected") as caught:
        await s.stream("hi")

    assert not caught.value.retryable
    assert len(server.response_bodies) == 1
    assert s.messages == []


async def test_a_server_error_before_any_output_is_retried(
    flavor: Flavor, sleeps: list[float]
) -> None:
    """``response.failed`` with ``server_error`` before any text: the stream is
    retried (the caller has seen nothing yet) and succeeds."""
    server = flavor.server
    s = await flavor.create()
    server.faults = [Fault(failed={"code": "server_error", "message": "try again"})]

    events = await s.stream("hi")

    assert events[-1].message.text == "re: hi"
    assert len(sleeps) == 1
    assert server.texts(s.native_id) == [("user", "hi"), ("assistant", "re: hi")]


async def test_a_streamed_turn_the_server_already_holds_is_replayed_not_resent(
    flavor: Flavor,
) -> None:
    """The stream request timed out after the server stored the turn: the retry finds
    it in the conversation and streams it from there, without sending it again."""
    server = flavor.server
    s = await flavor.create()
    await s.send("first")
    server.faults = [Fault(timeout_after_storing=True)]

    events = await s.stream("second")

    assert [(e.type, e.text) for e in events[:-1]] == [("text", "re: second")]
    assert events[-1].message.text == "re: second"
    assert len(server.response_bodies) == 2
    assert [t for _, t in server.texts(s.native_id)] == [
        "first",
        "re: first",
        "second",
        "re: second",
    ]


async def test_server_state_calls_get_their_own_client_spans(flavor: Flavor) -> None:
    """Creating the conversation and re-seeding it are CLIENT spans of their own."""
    from opentelemetry.trace import SpanKind

    s = await flavor.create()
    await s.send("hi")

    [span] = flavor.telemetry.spans("create_conversation")
    assert span.kind is SpanKind.CLIENT
    assert span.attributes["gen_ai.provider.name"] == "openai"
    assert span.attributes["gen_ai.conversation.id"] == s.id


async def test_tool_round_trip(flavor: Flavor) -> None:
    """Tools go as function tools; a ``function_call`` comes back as a `ToolCallPart`;
    the `ToolResult` goes as ``function_call_output`` and the model answers."""
    server = flavor.server
    s = await flavor.create(tools=[WEATHER])

    call_reply = await s.send('/tool get_weather {"city": "Paris"}')

    [call] = call_reply.tool_calls
    assert call.name == "get_weather" and call.arguments == {"city": "Paris"}
    assert server.response_bodies[0]["tools"] == [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Weather for a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            "strict": False,
        }
    ]
    conversation = server.conversations[s.native_id]
    assert call_reply.provider_id == conversation[1]["id"]
    assert call.call_id == conversation[1]["call_id"]

    answer = await s.send(tl.ToolResult(call_id=call.call_id, output={"celsius": 21}))

    assert server.response_bodies[1]["input"] == [
        {"type": "function_call_output", "call_id": call.call_id, "output": '{"celsius": 21}'}
    ]
    assert answer.text == 'tool said {"celsius": 21}'
    assert [m.role for m in s.messages] == ["user", "assistant", "tool", "assistant"]
    assert server.texts(s.native_id)[1:3] == [
        ("function_call", "get_weather"),
        ("function_call_output", '{"celsius": 21}'),
    ]


async def test_tool_calls_stream_as_events(flavor: Flavor) -> None:
    """A streamed tool call arrives as one ``tool_call`` event with parsed arguments."""
    s = await flavor.create()

    events = await s.stream('/tool get_weather {"city": "Oslo"}', tools=[WEATHER])

    assert [e.type for e in events] == ["tool_call", "done"]
    assert events[0].tool_call.arguments == {"city": "Oslo"}
    assert events[1].message.tool_calls == [events[0].tool_call]


async def test_tool_history_is_replayed_in_local_mode(flavor: Flavor) -> None:
    """Local mode re-sends the tool call as a ``function_call`` item (arguments as a
    JSON string) followed by its output."""
    server = flavor.server
    s = await flavor.create(mode="local", tools=[WEATHER])
    reply = await s.send('/tool get_weather {"city": "Rome"}')
    call = reply.tool_calls[0]

    await s.send(tl.ToolResult(call_id=call.call_id, output="sunny"))

    assert server.response_bodies[1]["input"] == [
        {"role": "user", "content": '/tool get_weather {"city": "Rome"}'},
        {
            "type": "function_call",
            "call_id": call.call_id,
            "name": "get_weather",
            "arguments": json.dumps({"city": "Rome"}),
        },
        {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"},
    ]
