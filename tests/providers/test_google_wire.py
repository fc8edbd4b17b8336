"""Pure translation for Gemini: messages ↔ Interactions steps and generateContent contents,
usage, finish reasons, and the stream assemblers. No I/O, no SDK."""

from __future__ import annotations

import pytest

import threadline as tl
from threadline.messages import ProviderPart
from threadline.providers import _google_content_wire as content_wire
from threadline.providers import _google_wire as wire
from threadline.providers._google_stream import ContentStream, InteractionStream, leftover_events
from threadline.providers.base import StreamEvent

PNG = b"\x89PNG\r\n"


def _assistant(*parts: object) -> tl.Message:
    return tl.Message(role="assistant", parts=list(parts))  # type: ignore[arg-type]


# -- Interactions: threadline -> wire ------------------------------------------------------


def test_a_lone_text_turn_is_sent_as_a_plain_string() -> None:
    """The smallest input form: the string itself, no step list."""
    assert wire.turn_input(tl.Message.user("Hello"), ()) == "Hello"


def test_user_media_become_content_blocks_by_media_type() -> None:
    """Bytes and data: URLs go inline, URLs and file ids by uri; audio/video/pdf pick
    their block type from the media type."""
    message = tl.Message(
        role="user",
        parts=[
            tl.TextPart(text="look"),
            tl.ImagePart(data=PNG, media_type="image/png"),
            tl.ImagePart(url="https://example.com/cat.jpg"),
            tl.FilePart(url="data:application/pdf;base64,JVBERg==", filename="a.pdf"),
            tl.FilePart(
                file_id="https://generativelanguage.googleapis.com/v1/files/f1",
                media_type="audio/mp3",
            ),
        ],
    )
    assert wire.turn_input(message, ()) == [
        {
            "type": "user_input",
            "content": [
                {"type": "text", "text": "look"},
                {"type": "image", "data": "iVBORw0K", "mime_type": "image/png"},
                {"type": "image", "uri": "https://example.com/cat.jpg"},
                {"type": "document", "data": "JVBERg==", "mime_type": "application/pdf"},
                {
                    "type": "audio",
                    "uri": "https://generativelanguage.googleapis.com/v1/files/f1",
                    "mime_type": "audio/mp3",
                },
            ],
        }
    ]


def test_tool_results_name_their_tool_from_the_history_when_it_is_at_hand() -> None:
    """Text and object results go as they are, other values as JSON text; the name is
    looked up in the history (the latest message first), and left out without one."""
    history = [
        tl.Message.user("weather?"),
        _assistant(tl.ToolCallPart(call_id="c1", name="weather", arguments={"city": "Oslo"})),
    ]
    results = tl.Message(
        role="tool",
        parts=[
            tl.ToolResult(call_id="c1", output={"temp": 3}),
            tl.ToolResult(call_id="c2", output=[1, 2], is_error=True),
        ],
    )
    assert wire.turn_input(results, history) == [
        {"type": "function_result", "call_id": "c1", "result": {"temp": 3}, "name": "weather"},
        {"type": "function_result", "call_id": "c2", "result": "[1, 2]", "is_error": True},
    ]
    assert "name" not in wire.turn_input(results, ())[0]  # type: ignore[index]


def test_history_becomes_steps_with_thoughts_and_calls_in_place() -> None:
    """A seeded chain replays the visible conversation in order; Google's own thought
    steps go back where they were, other providers' parts are left out."""
    thought = {"type": "thought", "signature": "c2ln", "summary": []}
    history = [
        tl.Message.user("hi"),
        _assistant(
            ProviderPart(provider="google", kind="step", data=thought),
            ProviderPart(provider="openai", kind="reasoning", data={"id": "rs_1"}),
            tl.TextPart(text="let me check"),
            tl.ToolCallPart(call_id="c1", name="weather", arguments={"city": "Oslo"}),
        ),
        tl.Message(role="tool", parts=[tl.ToolResult(call_id="c1", output="3C")]),
        _assistant(tl.TextPart(text="3 degrees"), tl.ImagePart(data=PNG, media_type="image/png")),
    ]
    assert wire.history_steps(history) == [
        {"type": "user_input", "content": [{"type": "text", "text": "hi"}]},
        thought,
        {"type": "model_output", "content": [{"type": "text", "text": "let me check"}]},
        {"type": "function_call", "id": "c1", "name": "weather", "arguments": {"city": "Oslo"}},
        {"type": "function_result", "call_id": "c1", "result": "3C", "name": "weather"},
        {
            "type": "model_output",
            "content": [
                {"type": "text", "text": "3 degrees"},
                {"type": "image", "data": "iVBORw0K", "mime_type": "image/png"},
            ],
        },
    ]


def test_function_tools_take_any_json_schema() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    tools = [tl.Tool(name="weather", description="Weather now.", parameters=schema)]
    assert wire.interaction_tools(tools) == [
        {"type": "function", "name": "weather", "description": "Weather now.", "parameters": schema}
    ]
    assert content_wire.content_tools(tools) == [
        {
            "function_declarations": [
                {"name": "weather", "description": "Weather now.", "parameters_json_schema": schema}
            ]
        }
    ]


# -- Interactions: wire -> threadline ------------------------------------------------------


def test_output_steps_become_one_reply_in_order() -> None:
    """Text and images, calls (arguments parsed when they come as JSON text), and any
    other step kept whole as a provider part; echoed input steps are skipped."""
    steps = [
        {"type": "user_input", "content": [{"type": "text", "text": "hi"}]},
        {"type": "thought", "signature": "c2ln"},
        {
            "type": "model_output",
            "content": [
                {"type": "text", "text": "Sure. "},
                {"type": "image", "data": "iVBORw0K", "mime_type": "image/png"},
            ],
        },
        {"type": "google_search_call", "id": "s1", "arguments": {"queries": ["x"]}},
        {"type": "function_call", "id": "c1", "name": "f", "arguments": '{"a": 1}'},
    ]
    usage = tl.Usage(input_tokens=3)
    reply = wire.reply_from_steps(steps, usage=usage, provider_id="int_1")
    assert reply.role == "assistant" and reply.provider_id == "int_1" and reply.usage == usage
    assert reply.parts == [
        ProviderPart(provider="google", kind="step", data={"type": "thought", "signature": "c2ln"}),
        tl.TextPart(text="Sure. "),
        tl.ImagePart(data=PNG, media_type="image/png"),
        ProviderPart(provider="google", kind="step", data=steps[3]),
        tl.ToolCallPart(call_id="c1", name="f", arguments={"a": 1}),
    ]
    assert wire.interaction_finish("requires_action", reply) == ("tool_call",)
    assert wire.interaction_finish("completed", tl.Message.assistant("x")) == ("stop",)


def test_a_reply_round_trips_to_the_same_steps() -> None:
    """What comes back from the server is what a seeded chain sends again."""
    steps = [
        {"type": "thought", "signature": "c2ln", "summary": [{"type": "text", "text": "hm"}]},
        {"type": "model_output", "content": [{"type": "text", "text": "ok"}]},
        {"type": "function_call", "id": "c1", "name": "f", "arguments": {"a": 1}},
    ]
    reply = wire.reply_from_steps(steps, provider_id="int_1")
    assert wire.message_steps(reply) == steps


def test_interaction_usage_counts_cached_tool_use_and_thinking() -> None:
    usage = {
        "total_input_tokens": 100,
        "total_cached_tokens": 60,
        "total_output_tokens": 7,
        "total_thought_tokens": 5,
        "total_tool_use_tokens": 3,
    }
    assert wire.interaction_usage(usage) == tl.Usage(
        input_tokens=103, output_tokens=12, cached_input_tokens=60
    )
    assert wire.interaction_usage(None) == tl.Usage()


# -- generateContent -----------------------------------------------------------------------


def test_contents_use_user_and_model_roles_and_name_every_function_response() -> None:
    """Tool results are ``user`` contents of function responses carrying the call's
    name; a made-up call id is never sent; text results are wrapped as ``output``."""
    made_up = f"{content_wire.LOCAL_CALL_PREFIX}abc"
    history = [
        tl.Message(role="user", parts=[tl.TextPart(text="hi"), tl.ImagePart(data=PNG)]),
        _assistant(
            tl.ToolCallPart(call_id="fc_1", name="a", arguments={}),
            tl.ToolCallPart(call_id=made_up, name="b", arguments={"x": 1}),
        ),
        tl.Message(
            role="tool",
            parts=[
                tl.ToolResult(call_id="fc_1", output={"ok": True}),
                tl.ToolResult(call_id=made_up, output="nope", is_error=True),
            ],
        ),
        tl.Message(
            role="user", parts=[tl.FilePart(url="gs://bucket/a.pdf", media_type="application/pdf")]
        ),
    ]
    assert content_wire.contents(history) == [
        {
            "role": "user",
            "parts": [
                {"text": "hi"},
                {"inline_data": {"mime_type": "application/octet-stream", "data": "iVBORw0K"}},
            ],
        },
        {
            "role": "model",
            "parts": [
                {"function_call": {"name": "a", "args": {}, "id": "fc_1"}},
                {"function_call": {"name": "b", "args": {"x": 1}}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"function_response": {"name": "a", "response": {"ok": True}, "id": "fc_1"}},
                {"function_response": {"name": "b", "response": {"error": "nope"}}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"file_data": {"file_uri": "gs://bucket/a.pdf", "mime_type": "application/pdf"}}
            ],
        },
    ]


def test_thought_parts_and_signatures_round_trip_through_the_mirror() -> None:
    """A thought part is kept whole; a signature rides on the part it came with, going
    back on that same part; interactions steps are not sent to generateContent."""
    response = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"text": "thinking", "thought": True},
                        {
                            "function_call": {"name": "f", "args": {"a": 1}},
                            "thought_signature": "c2ln",
                        },
                        {"executable_code": {"code": "1+1"}},
                    ],
                },
                "finish_reason": "STOP",
            }
        ],
        "usage_metadata": {
            "prompt_token_count": 10,
            "candidates_token_count": 2,
            "thoughts_token_count": 4,
            "cached_content_token_count": 6,
            "tool_use_prompt_token_count": 1,
        },
        "response_id": "r1",
    }
    reply, finish = content_wire.reply_from_response(response)
    assert finish == ("tool_call",)
    assert reply.provider_id == "r1"
    assert reply.usage == tl.Usage(input_tokens=11, output_tokens=6, cached_input_tokens=6)
    [call] = reply.tool_calls
    assert call.call_id.startswith(content_wire.LOCAL_CALL_PREFIX)
    foreign = ProviderPart(provider="google", kind="step", data={"type": "thought"})
    again = reply.model_copy(update={"parts": [*reply.parts, foreign]})
    assert content_wire.contents([again]) == [
        {"role": "model", "parts": response["candidates"][0]["content"]["parts"]}
    ]  # type: ignore[index]


@pytest.mark.parametrize(
    ("reason", "finish"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("MALFORMED_FUNCTION_CALL", "malformed_function_call"),
    ],
)
def test_finish_reasons_follow_the_semantic_conventions(reason: str, finish: str) -> None:
    response = {"candidates": [{"content": {"parts": [{"text": "x"}]}, "finish_reason": reason}]}
    assert content_wire.reply_from_response(response)[1] == (finish,)


# -- streams ---------------------------------------------------------------------------------


def _hop(iid: str, status: str, text: str, usage: int, token: str | None = None) -> list[dict]:
    interaction = {
        "id": iid,
        "status": status,
        "usage": {"total_input_tokens": usage, "total_output_tokens": 1},
    }
    if token:
        interaction["continuation_token"] = token
    return [
        {"event_type": "interaction.created", "interaction": {"id": iid, "status": "in_progress"}},
        {"event_type": "step.start", "index": 0, "step": {"type": "model_output", "content": []}},
        {"event_type": "step.delta", "index": 0, "delta": {"type": "text", "text": text}},
        {"event_type": "step.delta", "index": 0, "delta": {"type": "text", "text": "!"}},
        {"event_type": "step.stop", "index": 0},
        {"event_type": "interaction.completed", "interaction": interaction},
    ]


def test_interaction_stream_joins_continuation_hops() -> None:
    """Text streams as it comes; the result is the last hop's id and status, both
    hops' steps, usage summed, every hop id listed."""
    stream = InteractionStream("google")
    events: list[StreamEvent] = []
    for event in _hop("int_1", "requires_continuation", "Hello", 10, "tok") + _hop(
        "int_2", "completed", " world", 12
    ):
        events += stream.feed(event)
    assert [e.text for e in events] == ["Hello", "!", " world", "!"]
    assert stream.interaction() == {
        "id": "int_2",
        "status": "completed",
        "steps": [
            {"type": "model_output", "content": [{"type": "text", "text": "Hello!"}]},
            {"type": "model_output", "content": [{"type": "text", "text": " world!"}]},
        ],
        "usage": {"total_input_tokens": 22, "total_output_tokens": 2},
        "continuation_ids": ["int_1", "int_2"],
    }


def test_interaction_stream_assembles_calls_and_signatures() -> None:
    """Arguments arrive as JSON pieces and the call is one event at ``step.stop``; a
    thought's signature arrives as a delta."""
    stream = InteractionStream("google")
    feed = [
        {
            "event_type": "interaction.created",
            "interaction": {"id": "int_1", "status": "in_progress"},
        },
        {"event_type": "step.start", "index": 0, "step": {"type": "thought"}},
        {
            "event_type": "step.delta",
            "index": 0,
            "delta": {"type": "thought_signature", "signature": "c2ln"},
        },
        {"event_type": "step.stop", "index": 0},
        {
            "event_type": "step.start",
            "index": 1,
            "step": {"type": "function_call", "id": "c1", "name": "f", "arguments": {}},
        },
        {
            "event_type": "step.delta",
            "index": 1,
            "delta": {"type": "arguments_delta", "arguments": '{"city":'},
        },
        {
            "event_type": "step.delta",
            "index": 1,
            "delta": {"type": "arguments_delta", "arguments": ' "Oslo"}'},
        },
    ]
    assert [e for event in feed for e in stream.feed(event)] == []
    [done] = stream.feed({"event_type": "step.stop", "index": 1})
    assert done.tool_call == tl.ToolCallPart(call_id="c1", name="f", arguments={"city": "Oslo"})
    stream.feed(
        {
            "event_type": "interaction.completed",
            "interaction": {"id": "int_1", "status": "requires_action"},
        }
    )
    interaction = stream.interaction()
    assert interaction is not None
    assert interaction["steps"] == [
        {"type": "thought", "signature": "c2ln"},
        {"type": "function_call", "id": "c1", "name": "f", "arguments": {"city": "Oslo"}},
    ]


def test_an_error_event_raises_the_mapped_error() -> None:
    stream = InteractionStream("google")
    with pytest.raises(tl.RateLimitError) as caught:
        stream.feed(
            {
                "event_type": "error",
                "error": {"code": "RESOURCE_EXHAUSTED", "message": "quota AIzaSyDUMMYKEY0123456"},
            }
        )
    assert "AIza" not in str(caught.value) and caught.value.retryable


def test_content_stream_joins_text_and_keeps_the_signature_on_it() -> None:
    """Text pieces become one part; an empty closing piece's signature lands on it;
    the last chunk's finish reason and usage make the response."""
    stream = ContentStream()
    chunks = [
        {"candidates": [{"content": {"parts": [{"text": "thinking", "thought": True}]}}]},
        {"candidates": [{"content": {"parts": [{"text": "Hel"}]}}], "response_id": "r1"},
        {"candidates": [{"content": {"parts": [{"text": "lo"}]}}], "response_id": "r1"},
        {
            "candidates": [
                {
                    "content": {"parts": [{"text": "", "thought_signature": "c2ln"}]},
                    "finish_reason": "STOP",
                }
            ],
            "usage_metadata": {"prompt_token_count": 3},
            "response_id": "r1",
        },
    ]
    events = [e for chunk in chunks for e in stream.feed(chunk)]
    assert [e.text for e in events] == ["Hel", "lo"]
    response = stream.response()
    assert response["candidates"][0]["content"]["parts"] == [
        {"text": "thinking", "thought": True},
        {"text": "Hello", "thought_signature": "c2ln"},
    ]
    reply, finish = content_wire.reply_from_response(response)
    assert reply.text == "Hello" and finish == ("stop",)
    assert reply.usage == tl.Usage(input_tokens=3) and reply.provider_id == "r1"


def test_content_stream_gives_calls_the_id_the_reply_keeps() -> None:
    stream = ContentStream()
    chunk = {
        "candidates": [
            {
                "content": {"parts": [{"function_call": {"name": "f", "args": {}}}]},
                "finish_reason": "STOP",
            }
        ]
    }
    [event] = stream.feed(chunk)
    reply, _ = content_wire.reply_from_response(stream.response())
    assert event.tool_call == reply.tool_calls[0]


def test_leftover_events_cover_what_the_stream_never_sent() -> None:
    """A server that put the whole reply in the closing event still streams it."""
    call = tl.ToolCallPart(call_id="c1", name="f")
    reply = _assistant(tl.TextPart(text="all at once"), call)
    assert leftover_events(reply, "", set()) == [
        StreamEvent(type="text", text="all at once"),
        StreamEvent(type="tool_call", tool_call=call),
    ]
    assert leftover_events(reply, "all at once", {"c1"}) == []
