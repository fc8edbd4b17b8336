"""Streaming and tools with Gemini, both engine faces, both modes: text as it comes, tool
calls (``requires_action``) and their results, thought signatures in local mode."""

from __future__ import annotations

import json

import pytest
from google_fake import FACES, Driver, FakeGemini, Fault

import threadline as tl
from threadline.providers.base import StreamEvent

pytestmark = pytest.mark.parametrize("face", FACES)

WEATHER = tl.Tool(name="weather", description="Weather now.", parameters={"type": "object"})


@pytest.mark.parametrize("mode", ["native", "local"])
async def test_streamed_text_arrives_piece_by_piece(face: str, mode: str) -> None:
    """Text events in order, joined they are the mirrored reply; the result comes last."""
    d = Driver(face, mode=mode)
    events, reply = await d.stream("tell me something")
    assert [e.type for e in events] == ["text"] * 4
    assert [e.text for e in events] == ["re:", " tell", " me", " something"]
    assert reply.text == "re: tell me something"
    assert reply.usage is not None and reply.usage.output_tokens == 5
    await d.close()


async def test_a_streamed_native_turn_records_the_interaction(face: str) -> None:
    """The streamed request asks for SSE; the chain continues from the streamed id."""
    d = Driver(face)
    _, first = await d.stream("one")
    await d.send("two")
    assert d.fake.bodies[0]["stream"] is True
    assert d.fake.bodies[1]["previous_interaction_id"] == first.provider_id
    assert d.fake.texts(d.native.handle) == ["one", "re: one", "two", "re: two"]  # type: ignore[union-attr]
    await d.close()


async def test_requires_action_becomes_tool_calls_and_results_go_back(face: str) -> None:
    """A function call ends the interaction in ``requires_action``: the reply holds
    the call; the results continue the chain as ``function_result`` steps naming the
    tool (the call is in the history at hand); the answer uses them."""
    d = Driver(face, tools=[WEATHER])
    reply = await d.send('/tool weather {"city": "Oslo"}')
    [call] = reply.tool_calls
    assert call == tl.ToolCallPart(call_id=call.call_id, name="weather", arguments={"city": "Oslo"})
    assert d.fake.interactions[reply.provider_id]["status"] == "requires_action"  # type: ignore[index]

    request = d.request(tl.ToolResult(call_id=call.call_id, output={"temp": 3}))
    request.loaded = list(d.history)  # the core has it loaded (it checked the pairs)
    result = await d.run(request)
    d.commit(request, result)

    assert d.fake.bodies[-1]["input"] == [
        {
            "type": "function_result",
            "call_id": call.call_id,
            "result": {"temp": 3},
            "name": "weather",
        }
    ]
    assert result.output[0].text == "tool said {'temp': 3}"
    assert result.finish_reasons == ("stop",)
    assert d.fake.texts(d.native.handle)[-3:] == [  # type: ignore[union-attr]
        "call:weather",
        "result:{'temp': 3}",
        "tool said {'temp': 3}",
    ]
    await d.close()


async def test_tool_results_without_the_history_at_hand_still_continue(face: str) -> None:
    """A resumed session's native turn does not load the history: the result goes
    without the optional tool name."""
    d = Driver(face, tools=[WEATHER])
    call = (await d.send("/tool weather {}")).tool_calls[0]
    loads = d.loads
    reply = await d.send(tl.ToolResult(call_id=call.call_id, output="3C"))
    assert d.loads == loads  # the history was not read
    assert d.fake.bodies[-1]["input"] == [
        {"type": "function_result", "call_id": call.call_id, "result": "3C"}
    ]
    assert reply.text == "tool said 3C"
    await d.close()


async def test_a_streamed_tool_call_is_one_event_with_whole_arguments(face: str) -> None:
    """Arguments stream in pieces; the caller sees one ``tool_call`` event."""
    d = Driver(face, tools=[WEATHER])
    events, reply = await d.stream('/tool weather {"city": "Lisbon", "days": 3}')
    assert events == [StreamEvent(type="tool_call", tool_call=reply.tool_calls[0])]
    assert reply.tool_calls[0].arguments == {"city": "Lisbon", "days": 3}
    await d.close()


async def test_local_tool_round_trip_with_made_up_ids(face: str) -> None:
    """generateContent calls come without ids: threadline makes one up, never sends it,
    and names the function in the response."""
    d = Driver(face, mode="local", tools=[WEATHER])
    events, reply = await d.stream('/tool weather {"city": "Oslo"}')
    [call] = reply.tool_calls
    assert events == [StreamEvent(type="tool_call", tool_call=call)]
    answer = await d.send(tl.ToolResult(call_id=call.call_id, output="3C"))
    assert d.fake.bodies[-1]["contents"][-2:] == [
        {
            "role": "model",
            "parts": [{"functionCall": {"name": "weather", "args": {"city": "Oslo"}}}],
        },
        {
            "role": "user",
            "parts": [{"functionResponse": {"name": "weather", "response": {"output": "3C"}}}],
        },
    ]
    assert answer.text == "tool said 3C"
    await d.close()


async def test_local_call_ids_from_the_server_round_trip(face: str) -> None:
    d = Driver(face, FakeGemini(call_ids=True), mode="local", tools=[WEATHER])
    call = (await d.send("/tool weather {}")).tool_calls[0]
    await d.send(tl.ToolResult(call_id=call.call_id, output="ok"))
    model, response = d.fake.bodies[-1]["contents"][-2:]
    assert model["parts"][0]["functionCall"]["id"] == call.call_id == "fc_resp_0001"
    assert response["parts"][0]["functionResponse"]["id"] == call.call_id
    await d.close()


async def test_local_thought_signatures_go_back_on_their_call(face: str) -> None:
    """With thinking, the server refuses a call of the current turn sent back without
    its signature: the mirror keeps it and the tool round trip succeeds, streamed or
    not; thought parts go back as they came."""
    d = Driver(face, FakeGemini(thinking=True), mode="local", tools=[WEATHER])
    _, reply = await d.stream('/tool weather {"city": "Oslo"}')
    answer = await d.send(tl.ToolResult(call_id=reply.tool_calls[0].call_id, output="3C"))
    model = d.fake.bodies[-1]["contents"][1]
    assert model == {
        "role": "model",
        "parts": [
            {"text": "thinking it over", "thought": True},
            {
                "functionCall": {"name": "weather", "args": {"city": "Oslo"}},
                "thoughtSignature": "c2lnbmF0dXJl",
            },
        ],
    }
    assert answer.text == "tool said 3C"
    assert answer.usage == tl.Usage(input_tokens=30, output_tokens=8)
    await d.close()


async def test_images_go_inline_in_both_modes(face: str) -> None:
    image = tl.ImagePart(data=b"\x89PNG", media_type="image/png")
    native = Driver(face)
    await native.send(tl.Message(role="user", parts=[tl.TextPart(text="what is it?"), image]))
    assert native.fake.bodies[-1]["input"] == [
        {
            "type": "user_input",
            "content": [
                {"type": "text", "text": "what is it?"},
                {"type": "image", "data": "iVBORw==", "mime_type": "image/png"},
            ],
        }
    ]
    local = Driver(face, mode="local")
    await local.send(tl.Message(role="user", parts=[image]))
    # (The SDK keeps the blob's own keys snake_case; the API reads either form.)
    assert local.fake.bodies[-1]["contents"] == [
        {"role": "user", "parts": [{"inlineData": {"mime_type": "image/png", "data": "iVBORw=="}}]}
    ]
    await native.close()
    await local.close()


async def test_a_stream_answered_with_a_whole_interaction_still_streams(face: str) -> None:
    """A server (or proxy) that answers a streamed request with plain JSON: the reply
    is streamed in one piece and recorded as usual."""
    d = Driver(face)
    whole = {
        "id": "int_json",
        "status": "completed",
        "model": "gemini-3.5-flash",
        "steps": [{"type": "model_output", "content": [{"type": "text", "text": "all at once"}]}],
    }
    d.fake.faults = [Fault(body=json.dumps(whole).encode(), content_type="application/json")]
    events, reply = await d.stream("hi")
    assert events == [StreamEvent(type="text", text="all at once")]
    assert reply.provider_id == "int_json" and d.native.handle == "int_json"  # type: ignore[union-attr]
    await d.close()
