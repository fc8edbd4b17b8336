"""What each Anthropic request carries, per mode, and what a turn gives back.

Engine level, both faces: `Driver` runs the async engine or its generated blocking
twin against the fake server the way the session core does.
"""

from __future__ import annotations

import pytest
from anthropic_fake import FACES, Driver, texts

import threadline as tl

pytestmark = pytest.mark.parametrize("face", FACES)

THREADS = "message-threads-2026-08-12"


async def test_first_turn_creates_a_thread_with_system_and_tools(face: str) -> None:
    """The first native turn is a ``create`` with the system prompt, the tools and the
    beta header; the reply's id becomes the native handle, recorded on the reply."""
    tool = tl.Tool(name="lookup", description="Find.", parameters={"type": "object"})
    d = Driver(face, system="Be terse.", tools=[tool])

    reply = await d.send("Hello")

    [call] = d.fake.calls
    assert call.body == {
        "model": "claude-sonnet-5-5",
        "max_tokens": 16_384,
        "messages": [{"role": "user", "content": "Hello"}],
        "system": "Be terse.",
        "tools": [{"name": "lookup", "input_schema": {"type": "object"}, "description": "Find."}],
        "thread": {"type": "create"},
    }
    assert call.headers["anthropic-beta"] == THREADS
    assert reply.text == "re: Hello" and reply.provider_id == "msg_0001"
    assert d.native is not None
    assert (d.native.provider, d.native.handle, d.native.synced_count) == (
        "anthropic",
        "msg_0001",
        2,
    )
    assert d.native.data["kind"] == "thread" and len(d.native.data["fingerprint"]) == 16
    assert d.hooks.events == []  # nothing to re-seed on a first turn


async def test_later_turns_continue_with_only_the_new_input(face: str) -> None:
    """Each later turn continues from the last reply id, sends only its own message and
    no system or tools (the server rejects repeats), and reads no history."""
    tool = tl.Tool(name="lookup")
    d = Driver(face, system="Be terse.", tools=[tool])
    await d.send("one")
    loads = d.loads
    await d.send("two")
    await d.send("three")

    _, second, third = d.fake.bodies
    assert second == {
        "model": "claude-sonnet-5-5",
        "max_tokens": 16_384,
        "messages": [{"role": "user", "content": "two"}],
        "thread": {"type": "continue", "previous_message_id": "msg_0001"},
    }
    assert third["thread"] == {"type": "continue", "previous_message_id": "msg_0002"}
    assert all(c.headers["anthropic-beta"] == THREADS for c in d.fake.calls)
    assert d.loads == loads  # a continue never reads the mirror
    assert [m.provider_id for m in d.history if m.role == "assistant"] == [
        "msg_0001",
        "msg_0002",
        "msg_0003",
    ]
    assert d.native is not None and d.native.handle == "msg_0003"
    assert d.fake.thread_texts("msg_0003") == [
        ("user", "one"),
        ("assistant", "re: one"),
        ("user", "two"),
        ("assistant", "re: two"),
        ("user", "three"),
        ("assistant", "re: three"),
    ]


async def test_native_usage_counts_the_held_thread_as_cached(face: str) -> None:
    """Usage: input = uncached + cache read + cache write, cached = cache read (the
    fake bills the context the thread holds as a cache read)."""
    d = Driver(face, system="sys")
    first = await d.send("a")
    second = await d.send("b")
    assert first.usage == tl.Usage(input_tokens=20, output_tokens=5, cached_input_tokens=0)
    assert second.usage == tl.Usage(input_tokens=40, output_tokens=5, cached_input_tokens=30)


async def test_request_size_stays_flat_over_fifty_native_turns(face: str) -> None:
    """Request bodies do not grow with the history in native mode: turn 50 is the size
    of turn 2 (give or take the digits of the turn number), while local mode grows."""
    native = Driver(face)
    for n in range(50):
        await native.send(f"turn {n:02d}")
    sizes = [call.size for call in native.fake.calls]
    assert max(sizes[1:]) - min(sizes[1:]) <= 2
    assert len(native.history) == 100

    local = Driver(face, mode="local")
    for n in range(10):
        await local.send(f"turn {n:02d}")
    grown = [call.size for call in local.fake.calls]
    assert grown == sorted(grown) and grown[-1] > 5 * grown[0]


async def test_local_mode_sends_the_whole_history_prompt_cached(face: str) -> None:
    """Local mode: no thread, no beta header, every mirrored message, and a top-level
    ``cache_control`` so the prefix written by one turn is read by the next."""
    d = Driver(face, mode="local", system="sys")
    await d.send("one")
    await d.send("two")

    first, second = d.fake.calls
    assert second.body == {
        "model": "claude-sonnet-5-5",
        "max_tokens": 16_384,
        "messages": [
            {"role": "user", "content": "one"},
            {"role": "assistant", "content": "re: one"},
            {"role": "user", "content": "two"},
        ],
        "system": "sys",
        "cache_control": {"type": "ephemeral"},
    }
    assert "anthropic-beta" not in first.headers and "thread" not in first.body
    assert d.native is None


async def test_local_mode_pays_for_the_prefix_once(face: str) -> None:
    """From turn 2 on, everything but the newest exchange is a cache read: the share of
    cached input grows towards 1, and cache writes stay one exchange long."""
    d = Driver(face, mode="local")
    replies = [await d.send(f"turn {n}") for n in range(6)]
    usages = [r.usage for r in replies]
    assert usages[0] == tl.Usage(
        input_tokens=10, output_tokens=5, cached_input_tokens=0, cache_write_tokens=10
    )
    assert usages[2] == tl.Usage(
        input_tokens=50, output_tokens=5, cached_input_tokens=30, cache_write_tokens=20
    )
    shares = [u.cached_input_tokens / u.input_tokens for u in usages if u is not None]
    assert shares[2:] == sorted(shares[2:]) and shares[-1] > 0.8
    writes = [u.cache_write_tokens for u in usages if u is not None]
    assert writes == [10, 20, 20, 20, 20, 20]


async def test_streamed_text_arrives_word_by_word_then_one_result(face: str) -> None:
    """A stream yields text events, then exactly one `TurnResult` (last) whose reply
    is the text joined, with its id and usage."""
    d = Driver(face)
    await d.send("first")
    request = d.request("tell me more")
    items = await d.run_stream(request)

    *events, result = items
    assert [e.text for e in events] == ["re:", " tell", " me", " more"]  # type: ignore[union-attr]
    assert isinstance(result, tl.providers.TurnResult)
    [reply] = result.output
    assert reply.text == "re: tell me more" and reply.provider_id == "msg_0002"
    assert result.response_id == "msg_0002" and result.finish_reasons == ("stop",)
    assert d.fake.bodies[-1]["stream"] is True
    assert d.fake.bodies[-1]["thread"]["type"] == "continue"


async def test_streamed_tool_calls_assemble_input_json_deltas(face: str) -> None:
    """A streamed tool call arrives as one ``tool_call`` event once its block stops
    (its JSON input sent in pieces); the result goes back as a ``tool_result``."""
    tool = tl.Tool(name="weather")
    d = Driver(face, tools=[tool])
    events, reply = await d.stream('/tool weather {"city": "Lisbon", "days": [1, 2, 3]}')

    [event] = events
    assert event.type == "tool_call"
    call = tl.ToolCallPart(
        call_id="toolu_0001", name="weather", arguments={"city": "Lisbon", "days": [1, 2, 3]}
    )
    assert event.tool_call == call
    assert reply.tool_calls == [call]

    answer = await d.send(tl.ToolResult(call_id=call.call_id, output={"sky": "clear"}))
    assert answer.text == 'tool said {"sky": "clear"}'
    assert d.fake.bodies[-1]["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_0001", "content": '{"sky": "clear"}'}
            ],
        }
    ]


async def test_thinking_blocks_are_mirrored_and_resent_on_a_reseed(face: str) -> None:
    """Thinking blocks (streamed or not) are kept as ``anthropic`` provider parts with
    their signature, and a thread created from the mirror sends them back as they
    came (the fake refuses thinking without its signature)."""
    d = Driver(face)
    d.fake.thinking = True
    first = await d.send("a")
    _, second = await d.stream("b")
    for reply in (first, second):
        thinking = reply.parts[0]
        assert isinstance(thinking, tl.ProviderPart) and thinking.provider == "anthropic"
        assert thinking.kind == "thinking" and thinking.data["signature"].startswith("sig_")

    d.native = None  # e.g. restored: the next turn seeds a new thread from the mirror
    await d.send("c")
    sent = d.fake.bodies[-1]["messages"]
    assert sent[1]["content"][0] == first.parts[0].data  # type: ignore[union-attr]
    assert sent[3]["content"][0] == second.parts[0].data  # type: ignore[union-attr]


async def test_max_tokens_turn_over_provider_over_model_default(face: str) -> None:
    """``max_tokens``: a turn's option wins, then the provider's setting, then the
    per-model default."""
    d = Driver(face, model="claude-haiku-5-5")
    await d.send("a")
    await d.send("b", max_tokens=300)
    configured = Driver(face, max_tokens=2_000)
    await configured.send("c")
    await configured.send("d", max_tokens=50)
    assert [b["max_tokens"] for b in d.fake.bodies] == [8_192, 300]
    assert [b["max_tokens"] for b in configured.fake.bodies] == [2_000, 50]


async def test_turn_options_pass_through_and_betas_merge(face: str) -> None:
    """Other options go to the API as given; the threads beta is added to the caller's
    ``betas``; fields threadline sets itself, and options the SDK does not know, are
    refused before anything is sent."""
    d = Driver(face)
    await d.send("a", stop_sequences=["END"], betas=["context-1m-2025-08-07"])
    body, headers = d.fake.bodies[0], d.fake.calls[0].headers
    assert body["stop_sequences"] == ["END"]
    assert headers["anthropic-beta"] == f"context-1m-2025-08-07,{THREADS}"
    with pytest.raises(tl.ValidationError, match="system"):
        await d.send("b", system="sneaky")
    with pytest.raises(tl.ValidationError, match="temperature"):
        await d.send("b", temperature=0.2)
    assert len(d.fake.calls) == 1


async def test_a_reloaded_conversation_continues_the_same_thread(face: str) -> None:
    """A new engine (another process, say) given the stored native state continues
    the same thread: the handle is all it needs."""
    d = Driver(face)
    await d.send("a")
    other = Driver(face, d.fake)
    other.history, other.native = list(d.history), d.native
    await other.send("b")
    assert d.fake.bodies[-1]["thread"] == {"type": "continue", "previous_message_id": "msg_0001"}
    assert texts(other.history) == ["a", "re: a", "b", "re: b"]
