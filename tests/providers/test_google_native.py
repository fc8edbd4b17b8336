"""What each Gemini turn sends and records, on both engine faces and in both modes:
interaction chains, their size over a long session, re-seeding (lost state, restore,
fork, hand-off), automatic continuation, and local mode's generateContent."""

from __future__ import annotations

import pytest
from google_fake import FACES, MODEL, Driver, FakeGemini, texts

import threadline as tl
from threadline.providers.base import NativeState

pytestmark = pytest.mark.parametrize("face", FACES)

WEATHER = tl.Tool(name="weather", description="Weather now.", parameters={"type": "object"})


async def test_first_turn_stores_an_interaction_with_system_and_tools(face: str) -> None:
    """One create: the model, the new input as a plain string, ``store=True``, the
    system instruction and tools; the reply and native state name the interaction."""
    d = Driver(face, system="Be terse.", tools=[WEATHER])
    reply = await d.send("Hello")

    assert d.fake.bodies == [
        {
            "model": MODEL,
            "input": "Hello",
            "store": True,
            "system_instruction": "Be terse.",
            "tools": [wire_weather()],
        }
    ]
    assert reply.text == "re: Hello" and reply.provider_id == "int_0001"
    assert d.native == NativeState(
        provider="google",
        handle="int_0001",
        synced_count=2,
        data={"kind": "interaction", "root": "int_0001"},
    )
    assert d.hooks.events == []  # nothing to re-seed on a first turn
    await d.close()


def wire_weather() -> dict[str, object]:
    return {
        "type": "function",
        "name": "weather",
        "description": "Weather now.",
        "parameters": {"type": "object"},
    }


async def test_later_turns_chain_with_only_the_new_input(face: str) -> None:
    """Each turn names the last interaction and sends its own input only; system and
    tools again every turn; options pass through; the history is never read."""
    d = Driver(face, system="Be terse.", tools=[WEATHER])
    await d.send("one")
    await d.send("two", generation_config={"temperature": 0.2})
    third = await d.send("three")

    _, second, last = d.fake.bodies
    assert second == {
        "model": MODEL,
        "input": "two",
        "store": True,
        "previous_interaction_id": "int_0001",
        "system_instruction": "Be terse.",
        "tools": [wire_weather()],
        "generation_config": {"temperature": 0.2},
    }
    assert last["previous_interaction_id"] == "int_0002" and last["input"] == "three"
    assert d.loads == 1  # only the first turn (no state yet) looked at the (empty) history
    assert d.fake.texts(third.provider_id) == [
        "one",
        "re: one",
        "two",
        "re: two",
        "three",
        "re: three",
    ]
    assert d.native is not None and d.native.data["root"] == "int_0001"
    assert d.native.synced_count == 6
    await d.close()


async def test_usage_counts_the_held_chain_as_cached(face: str) -> None:
    """Input tokens include the cached prefix the server held; output and cached are
    recorded on the reply."""
    d = Driver(face)
    first = await d.send("a")
    second = await d.send("b")
    assert first.usage == tl.Usage(input_tokens=10, output_tokens=5, cached_input_tokens=0)
    assert second.usage == tl.Usage(input_tokens=30, output_tokens=5, cached_input_tokens=20)
    await d.close()


async def test_request_size_stays_flat_over_50_native_turns(face: str) -> None:
    """Native mode: turn 50 sends no more than turn 2 (within 10%); local mode's
    requests grow with the history."""
    native = Driver(face)
    for n in range(50):
        await native.send(f"message number {n:03d}")
    sizes = [c.size for c in native.fake.requests("POST")]
    assert len(sizes) == 50
    assert max(sizes[1:]) <= sizes[1] * 1.1
    assert len(native.fake.chain(native.native.handle)) == 50  # type: ignore[union-attr]

    local = Driver(face, mode="local")
    for n in range(10):
        await local.send(f"message number {n:03d}")
    grown = [c.size for c in local.fake.requests("POST")]
    assert grown[-1] > 5 * grown[0]
    await native.close()
    await local.close()


async def test_a_lost_interaction_is_reseeded_from_the_mirror(face: str) -> None:
    """The server no longer knows the previous interaction (404): the same turn is
    sent again as a new chain holding the whole mirror, and says so."""
    d = Driver(face, system="Be terse.")
    await d.send("one")
    await d.send("two")
    del d.fake.interactions["int_0002"]

    reply = await d.send("three")

    lost, seeded = d.fake.bodies[-2:]
    assert lost["previous_interaction_id"] == "int_0002"
    assert "previous_interaction_id" not in seeded
    assert seeded["system_instruction"] == "Be terse."
    assert seeded["input"] == [
        {"type": "user_input", "content": [{"type": "text", "text": "one"}]},
        {"type": "model_output", "content": [{"type": "text", "text": "re: one"}]},
        {"type": "user_input", "content": [{"type": "text", "text": "two"}]},
        {"type": "model_output", "content": [{"type": "text", "text": "re: two"}]},
        {"type": "user_input", "content": [{"type": "text", "text": "three"}]},
    ]
    assert d.hooks.named("threadline.native.reseed") == [{"reason": "lost", "items": 4}]
    assert d.fake.chain(reply.provider_id) == [reply.provider_id]  # type: ignore[arg-type]
    assert d.native is not None and d.native.data["root"] == reply.provider_id
    assert texts(d.history) == ["one", "re: one", "two", "re: two", "three", "re: three"]
    await d.close()


async def test_an_unfinished_previous_interaction_is_reseeded(face: str) -> None:
    """A previous interaction the server will not continue (not in a terminal state:
    400) is treated like a lost one."""
    d = Driver(face)
    await d.send("one")
    d.fake.interactions["int_0001"]["status"] = "in_progress"
    reply = await d.send("two")
    assert reply.text == "re: two"
    assert d.hooks.named("threadline.native.reseed") == [{"reason": "lost", "items": 2}]
    assert d.fake.texts(reply.provider_id) == ["one", "re: one", "two", "re: two"]  # type: ignore[arg-type]
    await d.close()


async def test_restore_fork_and_hand_off_start_a_new_chain_from_the_history(face: str) -> None:
    """State that does not match the mirror (restore: fewer messages; fork/import: no
    state; hand-off: another provider's) is never continued: the turn seeds a chain
    holding exactly the history it is given."""
    d = Driver(face)
    await d.send("a")
    await d.send("b")
    old_chain = d.native

    # restore to after "a": the cached state holds 4 messages, the mirror 2
    d.history = d.history[:2]
    restored = await d.send("c")
    assert d.fake.texts(restored.provider_id) == ["a", "re: a", "c", "re: c"]  # type: ignore[arg-type]
    assert old_chain is not None and d.fake.bodies[-1].get("previous_interaction_id") is None

    # a fork: same history, no state of its own
    fork = Driver(face, d.fake)
    fork.history = list(d.history)
    forked = await fork.send("d")
    assert d.fake.texts(forked.provider_id)[-2:] == ["d", "re: d"]  # type: ignore[arg-type]
    assert "d" not in d.fake.texts(restored.provider_id)  # type: ignore[arg-type]

    # a hand-off from another provider (its state stays with it)
    other = Driver(face, d.fake)
    other.history = [tl.Message.user("from openai"), tl.Message.assistant("openai says hi")]
    other.native = NativeState(provider="openai", handle="conv_1", synced_count=2)
    handed = await other.send("now gemini")
    assert d.fake.texts(handed.provider_id) == [  # type: ignore[arg-type]
        "from openai",
        "openai says hi",
        "now gemini",
        "re: now gemini",
    ]
    reasons = [e["reason"] for e in d.hooks.named("threadline.native.reseed")]
    assert reasons == ["stale"]
    assert other.hooks.named("threadline.native.reseed") == [{"reason": "stale", "items": 2}]
    for driver in (d, fork, other):
        await driver.close()


async def test_automatic_continuation_continues_from_the_last_hop(face: str) -> None:
    """A reply split over two hops is one turn: the text of both, usage summed, and
    the native state (and the reply's id) is the last hop, which the next turn
    continues."""
    d = Driver(face)
    await d.send("hello")
    d.fake.hops = 2
    reply = await d.send("a long answer please")
    start, hop_one, hop_two = d.fake.chain(reply.provider_id)  # type: ignore[arg-type]
    first_request, second_request = d.fake.bodies[-2:]
    assert first_request["previous_interaction_id"] == start
    assert second_request["previous_interaction_id"] == hop_one and "input" not in second_request
    assert (
        second_request["continuation_token"] == d.fake.interactions[hop_one]["continuation_token"]
    )
    assert reply.text == "re: a long answer please"
    assert reply.provider_id == hop_two and d.native.handle == hop_two  # type: ignore[union-attr]
    # Each hop re-reads the chain (hop two: hop one's output too); usage is their sum.
    assert reply.usage == tl.Usage(
        input_tokens=30 + 40, output_tokens=10, cached_input_tokens=20 + 40
    )

    await d.send("next")
    assert d.fake.bodies[-1]["previous_interaction_id"] == hop_two
    await d.close()


async def test_a_streamed_reply_continues_across_hops(face: str) -> None:
    """In a stream the hop boundary is invisible: text events from both hops, one
    result naming the last hop, usage summed over hops."""
    d = Driver(face)
    d.fake.hops = 2
    events, reply = await d.stream("stream a long answer")
    assert "".join(e.text for e in events) == reply.text == "re: stream a long answer"
    first_hop, last_hop = d.fake.chain(reply.provider_id)  # type: ignore[arg-type]
    assert reply.usage == tl.Usage(input_tokens=10 + 20, output_tokens=10, cached_input_tokens=20)
    assert d.native is not None and d.native.handle == last_hop
    assert d.native.data["root"] == first_hop
    await d.close()


async def test_thoughts_stay_with_the_chain_and_go_back_when_seeding(face: str) -> None:
    """Thought steps are mirrored as Google provider parts (with their signature) and
    sent again, in place, when a new chain is seeded."""
    d = Driver(face, FakeGemini(thinking=True))
    first = await d.send("think")
    [thought] = [p for p in first.parts if isinstance(p, tl.ProviderPart)]
    assert thought.provider == "google" and thought.data["type"] == "thought"
    assert first.usage == tl.Usage(input_tokens=10, output_tokens=8)
    d.native = None  # dropped, say after an ambiguous failure
    await d.send("again")
    assert d.fake.bodies[-1]["input"][1] == thought.data
    await d.close()


async def test_local_mode_sends_the_whole_history_to_generate_content(face: str) -> None:
    """generateContent with every message as ``contents`` (roles user/model), the
    system instruction and function declarations; no server state is kept."""
    d = Driver(face, mode="local", system="Be terse.", tools=[WEATHER])
    await d.send("one")
    reply = await d.send("two", temperature=0.1)
    body = d.fake.bodies[-1]
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "one"}]},
        {"role": "model", "parts": [{"text": "re: one"}]},
        {"role": "user", "parts": [{"text": "two"}]},
    ]
    assert body["systemInstruction"] == {"role": "user", "parts": [{"text": "Be terse."}]}
    assert body["tools"][0]["functionDeclarations"][0]["name"] == "weather"
    assert body["generationConfig"] == {"temperature": 0.1}
    assert d.fake.calls[-1].path == f"/v1/models/{MODEL}:generateContent"
    assert reply.text == "re: two" and reply.provider_id == "resp_0002"
    assert reply.usage == tl.Usage(input_tokens=40, output_tokens=5)
    assert d.native is None and d.fake.interactions == {}
    await d.close()


async def test_vertex_ai_uses_project_paths_and_its_system_name(face: str) -> None:
    """On Vertex AI the same turns go to ``v1beta1/projects/{p}/locations/{l}``, and
    telemetry names the system ``gcp.vertex_ai``."""
    d = Driver(face, vertexai=True, project="proj", location="europe-west4")
    await d.send("hi")
    await d.send("again")
    local = Driver(face, d.fake, mode="local", provider=d.provider)
    await local.send("local")
    scope = "/v1beta1/projects/proj/locations/europe-west4"
    assert [c.path for c in d.fake.calls] == [
        f"{scope}/interactions",
        f"{scope}/interactions",
        f"{scope}/publishers/google/models/{MODEL}:generateContent",
    ]
    assert d.provider.system_name == "gcp.vertex_ai"
    assert Driver(face).provider.system_name == "gcp.gemini"
    await d.close()
