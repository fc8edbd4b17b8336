"""Re-seeding: every way a thread stops matching the mirror ends in a new thread
built from the mirror, never in a failed turn or a duplicated one."""

from __future__ import annotations

import pytest
from anthropic_fake import FACES, Driver, Fault, texts

import threadline as tl
from threadline.providers.base import NativeState

pytestmark = pytest.mark.parametrize("face", FACES)

ERRORS = [
    (404, "thread_not_found"),
    (400, "thread_already_continued"),
    (400, "thread_continue_in_flight"),
    (400, "thread_fingerprint_mismatch"),
]


async def _two_turns(d: Driver) -> None:
    await d.send("one")
    await d.send("two")


@pytest.mark.parametrize(("status", "code"), ERRORS)
async def test_each_thread_error_reseeds_within_the_same_attempt(
    face: str, status: int, code: str
) -> None:
    """A continue the server rejects with a thread error is sent again at once as a
    ``create`` holding the whole mirror; the turn succeeds and says why it re-seeded."""
    d = Driver(face, system="sys")
    await _two_turns(d)
    d.fake.faults = [Fault(status=status, error_code=code)]

    reply = await d.send("three")

    rejected, created = d.fake.bodies[-2:]
    assert rejected["thread"]["type"] == "continue"
    assert created["thread"] == {"type": "create"} and created["system"] == "sys"
    assert [m["content"] for m in created["messages"]] == [
        "one",
        "re: one",
        "two",
        "re: two",
        "three",
    ]
    assert d.hooks.named("threadline.native.reseed") == [{"reason": code, "items": 4}]
    assert reply.text == "re: three"
    assert d.native is not None and d.native.handle == reply.provider_id
    assert d.fake.thread_texts(reply.provider_id) == [
        ("user", "one"),
        ("assistant", "re: one"),
        ("user", "two"),
        ("assistant", "re: two"),
        ("user", "three"),
        ("assistant", "re: three"),
    ]
    await d.send("four")
    assert d.fake.bodies[-1]["thread"]["previous_message_id"] == reply.provider_id


async def test_real_thread_states_trigger_the_reseed(face: str) -> None:
    """The fake's own state, not injected faults: an expired thread, a reply id
    continued by someone else (a fork sharing it), a continuation still in flight."""
    d = Driver(face)
    await d.send("a")
    d.fake.threads.clear()  # expired server-side
    await d.send("b")
    other = Driver(face, d.fake)
    other.history, other.native = list(d.history), d.native
    await other.send("c (other)")  # continues the shared reply id first
    await d.send("c")
    assert d.native is not None
    d.fake.in_flight.add(d.native.handle or "")
    await d.send("d")
    reasons = [e["reason"] for e in d.hooks.named("threadline.native.reseed")]
    assert reasons == ["thread_not_found", "thread_already_continued", "thread_continue_in_flight"]
    assert texts(d.history) == ["a", "re: a", "b", "re: b", "c", "re: c", "d", "re: d"]


async def test_a_reseed_that_fails_is_not_retried_on_the_old_thread(face: str) -> None:
    """After a thread error, the request says the old thread is unusable: if the new
    thread's creation then fails (529), the retry creates directly."""
    d = Driver(face)
    await d.send("a")
    d.fake.faults = [Fault(status=404, error_code="thread_not_found"), Fault(status=529)]
    await d.send("b", attempts=2)
    kinds = [b["thread"]["type"] for b in d.fake.bodies]
    assert kinds == ["create", "continue", "create", "create"]
    assert texts(d.history) == ["a", "re: a", "b", "re: b"]


async def test_a_refusal_is_mirrored_and_the_next_turn_starts_a_new_thread(face: str) -> None:
    """The server keeps nothing to continue after a refusal: the reply is mirrored (no
    content), native state asks for a re-seed, and the next thread is built from the
    mirror with the empty reply left out and the user turns around it merged."""
    d = Driver(face)
    await d.send("a")
    refused = await d.send("/refuse")
    assert refused.parts == [] and refused.provider_id == "msg_0002"
    assert d.native is not None and d.native.handle is None
    assert d.native.data["reseed"] == "refusal" and d.native.synced_count == 4

    await d.send("b")
    body = d.fake.bodies[-1]
    assert body["thread"] == {"type": "create"}
    assert body["messages"] == [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "re: a"},
        {
            "role": "user",
            "content": [{"type": "text", "text": "/refuse"}, {"type": "text", "text": "b"}],
        },
    ]
    assert d.hooks.named("threadline.native.reseed") == [{"reason": "refusal", "items": 4}]


async def test_a_fallback_models_reply_starts_a_new_thread_next(face: str) -> None:
    """A reply written by a fallback model is not stored to continue: the next turn
    re-seeds (reason ``fallback_message``), streamed or not."""
    d = Driver(face)
    await d.send("a")
    _, reply = await d.stream("/fallback")
    assert reply.text == "re: /fallback"
    assert d.native is not None and d.native.data["reseed"] == "fallback_message"
    await d.send("b")
    assert d.fake.bodies[-1]["thread"] == {"type": "create"}
    assert d.hooks.named("threadline.native.reseed") == [{"reason": "fallback_message", "items": 4}]


@pytest.mark.parametrize(
    "change",
    [{"system": "new rules"}, {"model": "claude-opus-5-5"}, {"tools": [tl.Tool(name="clock")]}],
)
async def test_a_changed_system_model_or_tools_starts_a_new_thread(
    face: str, change: dict[str, object]
) -> None:
    """The server fixes system and tools at creation (and the model is part of the
    fingerprint too): after a change the turn creates a new thread with the new values,
    rather than sending a continue the server would refuse."""
    d = Driver(face, system="old rules")
    await _two_turns(d)
    for name, value in change.items():
        setattr(d, name, value)

    await d.send("three")

    body = d.fake.bodies[-1]
    assert body["thread"] == {"type": "create"} and len(body["messages"]) == 5
    assert body["model"] == d.model and body["system"] == d.system
    assert body.get("tools", []) == [
        {"name": t.name, "input_schema": t.parameters} for t in d.tools
    ]
    assert d.hooks.named("threadline.native.reseed") == [{"reason": "changed", "items": 4}]
    await d.send("four")
    assert d.fake.bodies[-1]["thread"]["type"] == "continue"


async def test_a_request_the_server_cannot_thread_goes_unthreaded(face: str) -> None:
    """``thread_unsupported_request`` (here: threads with ``thinking``) sends the turn
    again without a thread (whole mirror, prompt-cached) and says so; while the turns
    still carry that field they go unthreaded at once; without it, threads resume."""
    d = Driver(face)
    d.fake.unsupported = ["thinking"]
    await d.send("a")
    thinking = {"type": "enabled", "budget_tokens": 2048}

    reply = await d.send("b", thinking=thinking)

    rejected, unthreaded = d.fake.bodies[-2:]
    assert rejected["thread"]["type"] == "continue"
    assert "thread" not in unthreaded and unthreaded["cache_control"] == {"type": "ephemeral"}
    assert len(unthreaded["messages"]) == 3 and unthreaded["thinking"] == thinking
    assert reply.text == "re: b"
    assert d.native is not None and d.native.data["kind"] == "unthreaded"
    calls = len(d.fake.calls)

    await d.send("c", thinking=thinking)
    assert len(d.fake.calls) == calls + 1  # straight to unthreaded, no rejected try
    await d.send("d")
    assert d.fake.bodies[-1]["thread"] == {"type": "create"}
    await d.send("e")
    assert d.fake.bodies[-1]["thread"]["type"] == "continue"
    assert d.hooks.named("threadline.native.unthreaded") == [
        {"unsupported": "thinking", "source": "rejected", "items": 2},
        {"unsupported": "thinking", "source": "remembered", "items": 4},
    ]
    assert [e["reason"] for e in d.hooks.named("threadline.native.reseed")] == ["unthreaded"]
    assert texts(d.history)[-2:] == ["e", "re: e"]


async def test_an_organisation_that_cannot_thread_stays_unthreaded(face: str) -> None:
    """A setting no request can drop (``hipaa``) keeps the session unthreaded: one
    rejected create, then full-history requests only."""
    d = Driver(face)
    d.fake.unsupported = ["hipaa"]
    for text in ("a", "b", "c"):
        await d.send(text)
    assert ["thread" in b for b in d.fake.bodies] == [True, False, False, False]
    assert texts(d.history) == ["a", "re: a", "b", "re: b", "c", "re: c"]


async def test_restore_and_fork_reseed_from_the_mirror(face: str) -> None:
    """State that does not hold exactly the mirror (a restore cut the history; a fork
    copied a history its thread does not match) is re-seeded with ``stale``."""
    d = Driver(face)
    for text in ("a", "b", "c"):
        await d.send(text)
    d.history = d.history[:2]  # restore to after the first turn; native still says 6
    await d.send("b2")
    body = d.fake.bodies[-1]
    assert body["thread"] == {"type": "create"}
    assert [m["content"] for m in body["messages"]] == ["a", "re: a", "b2"]
    assert d.hooks.named("threadline.native.reseed") == [{"reason": "stale", "items": 2}]


async def test_hand_off_from_openai_translates_tool_pairs_and_drops_reasoning(
    face: str,
) -> None:
    """A history written on OpenAI (reasoning items, ``call_…`` tool pairs) with
    OpenAI's native state becomes a new thread: visible conversation and tool pairs
    kept, reasoning dropped, roles alternating."""
    history = [
        tl.Message.user("weather in Oslo?"),
        tl.Message(
            role="assistant",
            parts=[
                tl.ProviderPart(provider="openai", kind="reasoning", data={"id": "rs_1"}),
                tl.ToolCallPart(call_id="call_abc", name="weather", arguments={"city": "Oslo"}),
            ],
            provider_id="fc_1",
        ),
        tl.Message(role="tool", parts=[tl.ToolResult(call_id="call_abc", output="3C")]),
        tl.Message.assistant("It is 3C.", provider_id="msg_openai"),
    ]
    d = Driver(face, tools=[tl.Tool(name="weather")])
    d.history = history
    d.native = NativeState(provider="openai", handle="conv_1", synced_count=4)

    reply = await d.send("thanks")

    body = d.fake.bodies[-1]
    assert body["thread"] == {"type": "create"}
    assert body["messages"] == [
        {"role": "user", "content": "weather in Oslo?"},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "call_abc", "name": "weather", "input": {"city": "Oslo"}}
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "call_abc", "content": "3C"}],
        },
        {"role": "assistant", "content": "It is 3C."},
        {"role": "user", "content": "thanks"},
    ]
    assert reply.text == "re: thanks"
    assert d.native is not None and d.native.provider == "anthropic"


async def test_hand_off_from_google_and_echo_histories(face: str) -> None:
    """Google's call ids (any characters) and echo's plain turns seed a valid thread."""
    history = [
        tl.Message.user("go"),
        tl.Message(
            role="assistant",
            parts=[tl.ToolCallPart(call_id="fn/1.2", name="f", arguments={"x": 1})],
        ),
        tl.Message(role="tool", parts=[tl.ToolResult(call_id="fn/1.2", output={"ok": True})]),
        tl.Message.assistant("echo: done"),
    ]
    d = Driver(face, tools=[tl.Tool(name="f")])
    d.history = history
    d.native = NativeState(provider="google", handle="int_1", synced_count=4)
    await d.send("next")
    sent = d.fake.bodies[-1]["messages"]
    assert sent[1]["content"][0]["id"] == sent[2]["content"][0]["tool_use_id"] == "fn_1_2"
    assert texts(d.history)[-1] == "re: next"
