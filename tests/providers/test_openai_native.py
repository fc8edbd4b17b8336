"""What each OpenAI request carries, and what the mirror holds, in the three modes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

import threadline as tl

if TYPE_CHECKING:
    from openai_fake import Flavor


async def test_first_turn_creates_a_conversation_named_after_the_session(flavor: Flavor) -> None:
    """The conversation is created on the first turn, its metadata naming the session,
    and the turn runs in it with only the new input and the system prompt."""
    server = flavor.server
    s = await flavor.create(system="Be terse.")
    assert server.calls == []  # nothing server-side until the first turn

    reply = await s.send("Hello")

    [created] = server.requests("POST", "/v1/conversations")
    assert created.body == {"metadata": {"threadline_session_id": s.id}}
    [body] = server.response_bodies
    assert body == {
        "model": "gpt-5.5",
        "conversation": s.native_id,
        "input": [{"role": "user", "content": "Hello"}],
        "instructions": "Be terse.",
        "store": True,
    }
    assert reply.text == "re: Hello"
    assert s.native_id.startswith("conv_")
    assert server.texts(s.native_id) == [("user", "Hello"), ("assistant", "re: Hello")]


async def test_each_turn_sends_only_its_input_with_instructions_every_time(flavor: Flavor) -> None:
    """Later turns reuse the conversation: no new conversation, only the new message,
    and the system prompt again (it is not carried over server-side)."""
    server = flavor.server
    s = await flavor.create(system="Be terse.")
    await s.send("one")
    await s.send("two")
    await s.send("three")

    assert len(server.requests("POST", "/v1/conversations")) == 1
    bodies = server.response_bodies
    assert [b["input"] for b in bodies] == [
        [{"role": "user", "content": "one"}],
        [{"role": "user", "content": "two"}],
        [{"role": "user", "content": "three"}],
    ]
    assert {b["conversation"] for b in bodies} == {s.native_id}
    assert all(b["instructions"] == "Be terse." and b["store"] is True for b in bodies)
    assert [text for _, text in server.texts(s.native_id)] == [
        "one",
        "re: one",
        "two",
        "re: two",
        "three",
        "re: three",
    ]


async def test_the_mirror_records_provider_ids_usage_and_model(flavor: Flavor) -> None:
    """Assistant messages carry the output item id and the turn's usage (cached tokens
    included); the session sums usage; ``native_id`` is the conversation id."""
    server = flavor.server
    s = await flavor.create()
    first = await s.send("a")
    second = await s.send("b")

    conversation = server.conversations[s.native_id]
    assert first.provider_id == conversation[1]["id"]
    assert second.provider_id == conversation[3]["id"]
    assert [m.role for m in s.messages] == ["user", "assistant", "user", "assistant"]
    assert [m.text for m in s.messages] == ["a", "re: a", "b", "re: b"]
    # The fake bills 10 tokens per context item, the held prefix as cached.
    assert first.usage == tl.Usage(input_tokens=10, output_tokens=5, cached_input_tokens=0)
    assert second.usage == tl.Usage(input_tokens=30, output_tokens=5, cached_input_tokens=20)
    assert s.usage == tl.Usage(input_tokens=40, output_tokens=10, cached_input_tokens=20)


async def test_a_reloaded_session_continues_the_same_conversation(flavor: Flavor) -> None:
    """The native handle is stored with the session: a fresh handle from the store
    keeps sending only new input to the same conversation."""
    server = flavor.server
    manager = flavor.manager()
    s = await manager.create(provider="openai")
    await s.send("a")
    again = await manager.get(s.id)
    await again.send("b")

    assert again.native_id == s.native_id
    assert server.response_bodies[-1]["input"] == [{"role": "user", "content": "b"}]
    assert len(server.requests("POST", "/v1/conversations")) == 1


async def test_responses_mode_chains_previous_response_ids(flavor: Flavor) -> None:
    """``native="responses"``: each turn names the previous response, stores its own,
    sends only the new input, and repeats the instructions."""
    server = flavor.server
    s = await flavor.create(native="responses", system="Be terse.")
    await s.send("one")
    first_id = s.native_id
    await s.send("two")

    assert server.requests("POST", "/v1/conversations") == []
    first, second = server.response_bodies
    assert "previous_response_id" not in first
    assert second["previous_response_id"] == first_id
    assert second["input"] == [{"role": "user", "content": "two"}]
    assert first["store"] is True and second["store"] is True
    assert first["instructions"] == second["instructions"] == "Be terse."
    assert s.native_id.startswith("resp_") and s.native_id != first_id
    assert [m.text for m in s.messages] == ["one", "re: one", "two", "re: two"]


async def test_local_mode_sends_the_whole_history_unstored(flavor: Flavor) -> None:
    """Local mode: ``store=false``, every mirrored message as input, encrypted
    reasoning requested so reasoning items can travel with the history."""
    server = flavor.server
    s = await flavor.create(mode="local", system="sys")
    await s.send("one")
    await s.send("two")

    first, second = server.response_bodies
    assert second == {
        "model": "gpt-5.5",
        "input": [
            {"role": "user", "content": "one"},
            {"role": "assistant", "content": "re: one"},
            {"role": "user", "content": "two"},
        ],
        "instructions": "sys",
        "store": False,
        "include": ["reasoning.encrypted_content"],
    }
    assert "conversation" not in first and "previous_response_id" not in first
    assert s.native_id is None
    assert server.conversations == {}


async def test_local_mode_carries_reasoning_items_back(flavor: Flavor) -> None:
    """Reasoning items are mirrored as opaque ``openai`` parts and, with their
    encrypted content, sent back in the next turn's history."""
    server = flavor.server
    server.reasoning = True
    s = await flavor.create(mode="local")
    reply = await s.send("think")
    await s.send("more")

    [reasoning] = [p for p in reply.parts if isinstance(p, tl.ProviderPart)]
    assert reasoning.provider == "openai" and reasoning.kind == "reasoning"
    assert reasoning.data["encrypted_content"].startswith("enc:rs_")
    assert reply.text == "re: think"
    history = server.response_bodies[1]["input"]
    assert [i.get("type", "message") for i in history] == [
        "message",
        "reasoning",
        "message",
        "message",
    ]
    assert history[1] == reasoning.data


@pytest.mark.parametrize("mode", ["native", "local"])
async def test_request_bytes_per_turn_over_fifty_turns(flavor: Flavor, mode: str) -> None:
    """Native mode: turn 50's request is within 10% of turn 2's. Local mode: it grows
    with the history."""
    s = await flavor.create(mode=mode, system="You are a helpful assistant.")
    for n in range(50):
        await s.send(f"message number {n:02d}")
    sizes = [c.size for c in flavor.server.requests("POST", "/v1/responses")]
    assert len(sizes) == 50
    if mode == "native":
        assert abs(sizes[49] - sizes[1]) <= 0.1 * sizes[1]
    else:
        assert sizes[49] > 10 * sizes[1]
        assert sizes == sorted(sizes)


async def test_options_pass_through_to_the_request(flavor: Flavor) -> None:
    """Per-turn options such as ``temperature`` reach ``responses.create`` unchanged."""
    s = await flavor.create()
    await s.send("hi", temperature=0.2, max_output_tokens=64)
    body = flavor.server.response_bodies[0]
    assert body["temperature"] == 0.2
    assert body["max_output_tokens"] == 64


async def test_images_go_as_input_image_urls_or_data_urls(flavor: Flavor) -> None:
    """An image by URL is sent as that URL; inline bytes as a base64 data URL."""
    s = await flavor.create()
    await s.send(
        [
            "What is in these?",
            tl.ImagePart(url="https://example.com/cat.png"),
            tl.ImagePart(data=b"\x89PNG", media_type="image/png", detail="low"),
        ]
    )
    [message] = flavor.server.response_bodies[0]["input"]
    assert message == {
        "type": "message",
        "role": "user",
        "content": [
            {"type": "input_text", "text": "What is in these?"},
            {"type": "input_image", "image_url": "https://example.com/cat.png", "detail": "auto"},
            {"type": "input_image", "image_url": "data:image/png;base64,iVBORw==", "detail": "low"},
        ],
    }
