"""The pure Anthropic wire translation, checked on literals (no I/O, no SDK)."""

from __future__ import annotations

import json

import pytest

import threadline as tl
from threadline.providers import _anthropic_wire as wire
from threadline.providers import _openai_wire as openai_wire


def test_a_plain_user_message_is_the_smallest_form() -> None:
    """A lone text part goes as a string; anything richer as typed blocks."""
    assert wire.message_params([tl.Message.user("hi")]) == [{"role": "user", "content": "hi"}]
    message = tl.Message(
        role="user",
        parts=[
            tl.TextPart(text="look"),
            tl.ImagePart(url="https://x/cat.png"),
            tl.ImagePart(data=b"\x89PNG....", media_type=None),
            tl.ImagePart(url="data:image/gif;base64,R0lG"),
            tl.FilePart(file_id="file_1", filename="report.pdf"),
            tl.FilePart(data=b"%PDF", media_type="application/pdf"),
            tl.FilePart(data=b"plain words", media_type="text/plain"),
        ],
    )
    assert wire.message_params([message]) == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "look"},
                {"type": "image", "source": {"type": "url", "url": "https://x/cat.png"}},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": "iVBORy4uLi4="},
                },
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/gif", "data": "R0lG"},
                },
                {
                    "type": "document",
                    "source": {"type": "file", "file_id": "file_1"},
                    "title": "report.pdf",
                },
                {
                    "type": "document",
                    "source": {
                        "type": "base64",
                        "media_type": "application/pdf",
                        "data": "JVBERg==",
                    },
                },
                {
                    "type": "document",
                    "source": {"type": "text", "media_type": "text/plain", "data": "plain words"},
                },
            ],
        }
    ]


def test_tool_pairs_become_tool_use_and_tool_result_blocks() -> None:
    """A call is a ``tool_use`` block of the assistant turn; its result a
    ``tool_result`` block of the next user turn (text output; errors flagged)."""
    history = [
        tl.Message.user("weather?"),
        tl.Message(
            role="assistant",
            parts=[
                tl.TextPart(text="checking"),
                tl.ToolCallPart(call_id="toolu_1", name="weather", arguments={"city": "Oslo"}),
                tl.ToolCallPart(call_id="toolu_2", name="clock", arguments={}),
            ],
        ),
        tl.Message(
            role="tool",
            parts=[
                tl.ToolResult(call_id="toolu_1", output={"c": 3}),
                tl.ToolResult(call_id="toolu_2", output="down", is_error=True),
            ],
        ),
    ]
    assert wire.message_params(history) == [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "checking"},
                {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Oslo"}},
                {"type": "tool_use", "id": "toolu_2", "name": "clock", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": '{"c": 3}'},
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_2",
                    "content": "down",
                    "is_error": True,
                },
            ],
        },
    ]


def test_roles_alternate_after_dropping_and_merging() -> None:
    """Another provider's reasoning-only reply leaves nothing to send: it is skipped
    and the two user turns around it merge; tool results then text form one turn,
    results first; empty text is never sent."""
    history = [
        tl.Message.user("one"),
        tl.Message(
            role="assistant",
            parts=[tl.ProviderPart(provider="openai", kind="reasoning", data={"id": "rs_1"})],
        ),
        tl.Message.user("two"),
        tl.Message(
            role="assistant",
            parts=[
                tl.TextPart(text=""),
                tl.ToolCallPart(call_id="c1", name="f", arguments={}),
            ],
        ),
        tl.Message(role="tool", parts=[tl.ToolResult(call_id="c1", output="ok")]),
        tl.Message.user("three"),
    ]
    assert wire.message_params(history) == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}],
        },
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "c1", "name": "f", "input": {}}],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "c1", "content": "ok"},
                {"type": "text", "text": "three"},
            ],
        },
    ]


def test_foreign_call_ids_become_valid_tool_use_ids_on_both_sides() -> None:
    """Ids with characters Anthropic refuses are rewritten the same way in the call
    and in its result, so the pair still matches."""
    history = [
        tl.Message.user("go"),
        tl.Message(
            role="assistant",
            parts=[tl.ToolCallPart(call_id="fc.1:a/b", name="f", arguments={})],
        ),
        tl.Message(role="tool", parts=[tl.ToolResult(call_id="fc.1:a/b", output="ok")]),
    ]
    params = wire.message_params(history)
    assert params[1]["content"][0]["id"] == "fc_1_a_b"
    assert params[2]["content"][0]["tool_use_id"] == "fc_1_a_b"


def test_reply_blocks_become_parts_in_order() -> None:
    """Text and tool calls become threadline parts; thinking and server-tool blocks are
    kept whole as ``anthropic`` provider parts; the reply id is the ``provider_id``."""
    usage = tl.Usage(input_tokens=7, output_tokens=3)
    reply = wire.reply_from_message(
        {
            "id": "msg_01",
            "type": "message",
            "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "text", "text": "Let me look.", "citations": None},
                {"type": "tool_use", "id": "toolu_9", "name": "search", "input": {"q": "x"}},
                {"type": "redacted_thinking", "data": "opaque"},
            ],
            "usage": {"input_tokens": 7, "output_tokens": 3},
        },
        usage,
    )
    assert reply.role == "assistant" and reply.provider_id == "msg_01"
    assert reply.usage == usage and reply.metadata == {}
    assert reply.parts == [
        tl.ProviderPart(
            provider="anthropic",
            kind="thinking",
            data={"type": "thinking", "thinking": "hmm", "signature": "sig"},
        ),
        tl.TextPart(text="Let me look."),
        tl.ToolCallPart(call_id="toolu_9", name="search", arguments={"q": "x"}),
        tl.ProviderPart(
            provider="anthropic",
            kind="redacted_thinking",
            data={"type": "redacted_thinking", "data": "opaque"},
        ),
    ]


def test_thinking_goes_back_only_to_anthropic() -> None:
    """A mirrored reply with thinking is re-sent to Anthropic block for block, and the
    OpenAI translation drops the thinking parts (a hand-off keeps only the visible
    conversation)."""
    thinking = {"type": "thinking", "thinking": "hmm", "signature": "sig"}
    reply = tl.Message(
        role="assistant",
        parts=[
            tl.ProviderPart(provider="anthropic", kind="thinking", data=thinking),
            tl.TextPart(text="answer"),
        ],
    )
    assert wire.message_params([tl.Message.user("q"), reply])[1] == {
        "role": "assistant",
        "content": [thinking, {"type": "text", "text": "answer"}],
    }
    assert openai_wire.message_items(reply) == [{"role": "assistant", "content": "answer"}]


def test_usage_counts_cache_reads_and_writes_as_input() -> None:
    """input = uncached + cache read + cache write; cached = cache read; cache writes
    are also kept on the reply's metadata (``Usage`` has no field for them)."""
    raw = {
        "input_tokens": 5,
        "cache_read_input_tokens": 100,
        "cache_creation_input_tokens": 20,
        "output_tokens": 9,
    }
    assert wire.usage_from(raw) == tl.Usage(
        input_tokens=125, output_tokens=9, cached_input_tokens=100, cache_write_tokens=20
    )
    assert wire.usage_from(None) == tl.Usage()
    reply = wire.reply_from_message(
        {"id": "msg_1", "content": [{"type": "text", "text": "x"}], "usage": raw}
    )
    assert reply.metadata == {}


def test_tools_are_sent_with_their_schema_as_input_schema() -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string"}}}
    tools = [tl.Tool(name="search", description="Find.", parameters=schema), tl.Tool(name="now")]
    assert wire.tool_params(tools) == [
        {"name": "search", "input_schema": schema, "description": "Find."},
        {"name": "now", "input_schema": {"type": "object", "properties": {}}},
    ]


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("claude-sonnet-5-5", 16_384),
        ("claude-opus-5-5", 16_384),
        ("claude-haiku-5-5", 8_192),
        ("claude-3-haiku-20240307", 4_096),
    ],
)
def test_default_max_tokens_per_model(model: str, expected: int) -> None:
    """Each default fits the model's output limit and the SDK's non-streaming timeout
    rule (at most 21,333)."""
    assert wire.default_max_tokens(model) == expected <= 21_333


@pytest.mark.parametrize(
    ("stop_reason", "reasons"),
    [
        ("end_turn", ("stop",)),
        ("stop_sequence", ("stop",)),
        ("max_tokens", ("length",)),
        ("tool_use", ("tool_call",)),
        ("refusal", ("content_filter",)),
        ("pause_turn", ("pause_turn",)),
        (None, ()),
    ],
)
def test_finish_reasons_follow_the_semantic_conventions(
    stop_reason: str | None, reasons: tuple[str, ...]
) -> None:
    assert wire.finish_reasons(stop_reason) == reasons


def test_context_overflow_is_recognised() -> None:
    assert wire.is_context_overflow(413, "request_too_large")
    assert wire.is_context_overflow(400, "prompt is too long: 210000 tokens > 200000 maximum")
    assert not wire.is_context_overflow(400, "max_tokens: must be positive")


def _stream(*events: dict[str, object]) -> wire.ReplyBuilder:
    builder = wire.ReplyBuilder()
    for event in events:
        builder.feed(event)
    return builder


def test_a_streamed_reply_is_assembled_like_a_plain_one() -> None:
    """Text deltas are shown as they come; ``input_json_delta`` pieces become one tool
    call when its block stops; thinking and its signature accumulate; usage from
    ``message_start`` is updated by ``message_delta``."""
    builder = wire.ReplyBuilder()
    shown = [
        builder.feed(event)
        for event in [
            {
                "type": "message_start",
                "message": {
                    "id": "msg_7",
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-sonnet-5-5",
                    "content": [],
                    "stop_reason": None,
                    "usage": {"input_tokens": 12, "output_tokens": 1},
                },
            },
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "thinking", "thinking": ""},
            },
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "thinking_delta", "thinking": "hm"},
            },
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "signature_delta", "signature": "s1"},
            },
            {"type": "content_block_stop", "index": 0},
            {
                "type": "content_block_start",
                "index": 1,
                "content_block": {"type": "text", "text": ""},
            },
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "text_delta", "text": "On "},
            },
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "text_delta", "text": "it."},
            },
            {"type": "content_block_stop", "index": 1},
            {
                "type": "content_block_start",
                "index": 2,
                "content_block": {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}},
            },
            {
                "type": "content_block_delta",
                "index": 2,
                "delta": {"type": "input_json_delta", "partial_json": '{"a": '},
            },
            {
                "type": "content_block_delta",
                "index": 2,
                "delta": {"type": "input_json_delta", "partial_json": "[1, 2]}"},
            },
            {"type": "content_block_stop", "index": 2},
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use"},
                "usage": {"output_tokens": 30},
            },
        ]
    ]
    assert [s for s in shown if s is not None] == [
        "On ",
        "it.",
        tl.ToolCallPart(call_id="toolu_1", name="f", arguments={"a": [1, 2]}),
    ]
    assert not builder.complete
    builder.feed({"type": "message_stop"})
    assert builder.complete
    assert builder.result() == {
        "id": "msg_7",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-5-5",
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 12, "output_tokens": 30},
        "content": [
            {"type": "thinking", "thinking": "hm", "signature": "s1"},
            {"type": "text", "text": "On it."},
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": [1, 2]}},
        ],
    }


def test_a_stream_of_the_wrong_shape_raises_value_error() -> None:
    """Events before ``message_start``, or unparseable tool input, are errors the
    engine reports as an unreadable (ambiguous) reply."""
    with pytest.raises(ValueError, match="message_start"):
        _stream({"type": "message_stop"})
    builder = _stream(
        {"type": "message_start", "message": {"id": "m", "content": []}},
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "t", "name": "f"},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": "{oops"},
        },
    )
    with pytest.raises(
        json.JSONDecodeError, match=r"^Expecting property name enclosed in double quotes"
    ):
        builder.feed({"type": "content_block_stop", "index": 0})
