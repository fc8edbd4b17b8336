"""The pure OpenAI wire translation, checked on literals (no I/O, no SDK)."""

from __future__ import annotations

import threadline as tl
from threadline.providers import _openai_wire as wire


def test_a_plain_user_message_is_the_smallest_form() -> None:
    """A lone text part goes as a string; anything richer as typed content parts."""
    assert wire.message_items(tl.Message.user("hi")) == [{"role": "user", "content": "hi"}]
    message = tl.Message(
        role="user",
        parts=[
            tl.TextPart(text="read"),
            tl.FilePart(file_id="file_1"),
            tl.FilePart(url="https://x/doc.pdf", filename="doc.pdf"),
            tl.FilePart(data=b"%PDF", media_type="application/pdf", filename="a.pdf"),
        ],
    )
    assert wire.message_items(message) == [
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "read"},
                {"type": "input_file", "file_id": "file_1"},
                {"type": "input_file", "file_url": "https://x/doc.pdf", "filename": "doc.pdf"},
                {
                    "type": "input_file",
                    "file_data": "data:application/pdf;base64,JVBERg==",
                    "filename": "a.pdf",
                },
            ],
        }
    ]


def test_tool_results_become_function_call_outputs() -> None:
    """Each result is one item; non-text output is sent as JSON."""
    message = tl.Message(
        role="tool",
        parts=[tl.ToolResult(call_id="c1", output="ok"), tl.ToolResult(call_id="c2", output=[1])],
    )
    assert wire.message_items(message) == [
        {"type": "function_call_output", "call_id": "c1", "output": "ok"},
        {"type": "function_call_output", "call_id": "c2", "output": "[1]"},
    ]


def test_assistant_parts_keep_their_order_and_drop_what_cannot_be_resent() -> None:
    """Reasoning goes back only with encrypted content; other providers' parts never."""
    message = tl.Message(
        role="assistant",
        parts=[
            tl.ProviderPart(
                provider="openai", kind="reasoning", data={"id": "rs_1", "summary": []}
            ),
            tl.ProviderPart(
                provider="openai",
                kind="reasoning",
                data={"type": "reasoning", "id": "rs_2", "summary": [], "encrypted_content": "e"},
            ),
            tl.ProviderPart(provider="anthropic", kind="thinking", data={"x": 1}),
            tl.TextPart(text="Let me "),
            tl.TextPart(text="check."),
            tl.ToolCallPart(call_id="c1", name="f", arguments={"a": 1}),
            tl.TextPart(text="Done."),
        ],
    )
    assert wire.message_items(message) == [
        {"type": "reasoning", "id": "rs_2", "summary": [], "encrypted_content": "e"},
        {"role": "assistant", "content": "Let me check."},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": '{"a": 1}'},
        {"role": "assistant", "content": "Done."},
    ]


def test_history_flattens_messages_in_order() -> None:
    history = [tl.Message(role="system", parts=[tl.TextPart(text="s")]), tl.Message.user("u")]
    assert wire.history_items(history) == [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "u"},
    ]


def test_a_reply_is_one_assistant_message_from_all_output_items() -> None:
    """Text, refusals, tool calls and opaque items, in order; the message item's id."""
    items = [
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": None},
        {
            "type": "message",
            "id": "msg_1",
            "role": "assistant",
            "content": [
                {"type": "output_text", "text": "Hi", "annotations": []},
                {"type": "refusal", "refusal": " but no."},
            ],
        },
        {"type": "function_call", "id": "fc_1", "call_id": "c", "name": "f", "arguments": "nope"},
        {"type": "web_search_call", "id": "ws_1", "status": "completed"},
    ]
    usage = tl.Usage(input_tokens=3)
    reply = wire.reply_from_items(items, usage)
    assert reply.role == "assistant" and reply.provider_id == "msg_1" and reply.usage == usage
    assert reply.text == "Hi but no."
    assert reply.parts[0] == tl.ProviderPart(
        provider="openai", kind="reasoning", data={"type": "reasoning", "id": "rs_1", "summary": []}
    )
    assert reply.tool_calls == [tl.ToolCallPart(call_id="c", name="f", arguments={"input": "nope"})]
    assert reply.parts[-1].kind == "web_search_call"  # type: ignore[union-attr]


def test_a_reply_without_a_message_item_takes_the_first_items_id() -> None:
    items = [
        {"type": "function_call", "id": "fc_9", "call_id": "c", "name": "f", "arguments": "{}"}
    ]
    assert wire.reply_from_items(items).provider_id == "fc_9"


def test_usage_counts_cached_tokens_inside_input() -> None:
    usage = {"input_tokens": 100, "input_tokens_details": {"cached_tokens": 60}, "output_tokens": 7}
    assert wire.usage_from(usage) == tl.Usage(
        input_tokens=100, output_tokens=7, cached_input_tokens=60
    )
    assert wire.usage_from(None) == tl.Usage()


def test_finish_reasons_follow_the_genai_conventions() -> None:
    text = tl.Message.assistant("x")
    call = tl.Message(role="assistant", parts=[tl.ToolCallPart(call_id="c", name="f")])
    assert wire.finish_reasons("completed", None, text) == ("stop",)
    assert wire.finish_reasons("completed", None, call) == ("tool_call",)
    assert wire.finish_reasons("incomplete", "max_output_tokens", text) == ("length",)
    assert wire.finish_reasons("incomplete", "content_filter", text) == ("content_filter",)


def test_context_overflow_is_recognised_by_code_or_message() -> None:
    assert wire.is_context_overflow("context_length_exceeded", "")
    assert wire.is_context_overflow(None, "This model's maximum context length is 8192 tokens")
    assert not wire.is_context_overflow("invalid_value", "bad temperature")


def _user_item(text: str, item_id: str) -> dict[str, object]:
    return {
        "type": "message",
        "id": item_id,
        "role": "user",
        "status": "completed",
        "content": [{"type": "input_text", "text": text}],
    }


def _assistant_item(item_id: str, status: str = "completed") -> dict[str, object]:
    return {
        "type": "message",
        "id": item_id,
        "role": "assistant",
        "status": status,
        "content": [{"type": "output_text", "text": "ok"}],
    }


def test_match_turn_recognises_exactly_this_turn() -> None:
    """Input then a finished reply → (input id, output items); anything else → None."""
    message = tl.Message.user("again")
    newer = [_user_item("again", "msg_u"), _assistant_item("msg_a")]
    assert wire.match_turn(newer, message) == ("msg_u", [newer[1]])
    assert wire.match_turn(newer[:1], message) is None  # input only: partial
    assert wire.match_turn([_user_item("other", "m"), _assistant_item("a")], message) is None
    assert (
        wire.match_turn([_user_item("again", "m"), _assistant_item("a", "in_progress")], message)
        is None
    )
    assert wire.match_turn([_user_item("again", "m"), _user_item("x", "n")], message) is None


def test_match_turn_matches_tool_results_by_call_id() -> None:
    message = tl.Message(role="tool", parts=[tl.ToolResult(call_id="c1", output="r")])
    output = {"type": "function_call_output", "id": "fco_1", "call_id": "c1", "output": "r"}
    assert wire.match_turn([output, _assistant_item("a")], message) == (
        "fco_1",
        [_assistant_item("a")],
    )
    wrong = {**output, "call_id": "c2"}
    assert wire.match_turn([wrong, _assistant_item("a")], message) is None


def test_tool_params_are_non_strict_function_tools() -> None:
    tool = tl.Tool(name="f", description="d", parameters={"type": "object"})
    assert wire.tool_params([tool]) == [
        {
            "type": "function",
            "name": "f",
            "description": "d",
            "parameters": {"type": "object"},
            "strict": False,
        }
    ]
