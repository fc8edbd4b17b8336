"""The Anthropic adapter under the public API: spans, retries, fork, restore, hand-off.

Sessions of either face (`SessionManager` with ``anthropic.Anthropic``,
`AsyncSessionManager` with ``anthropic.AsyncAnthropic``) on the fake server; the
provider object is passed in ``providers=[...]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from anthropic_fake import FACES, Fault, manager
from openai_fake import FakeOpenAI
from opentelemetry.trace import SpanKind

import threadline as tl
from threadline.providers import EchoProvider
from threadline.providers.anthropic import AnthropicProvider
from threadline.providers.openai import OpenAIProvider
from threadline.testing import FakeAnthropic, TelemetryCapture, capture_telemetry

pytestmark = pytest.mark.parametrize("face", FACES)

MODEL = "claude-sonnet-5-5"


@pytest.fixture
def telemetry() -> Iterator[TelemetryCapture]:
    capture = capture_telemetry()
    yield capture
    capture.shutdown()


def _providers(face: str, fake: FakeAnthropic, *others: Any) -> list[Any]:
    return [AnthropicProvider(client=fake.client(sync=face == "sync")), *others]


def _strings(telemetry: TelemetryCapture) -> str:
    """Every attribute and event value of every span, as one text."""
    values: list[str] = []
    for span in telemetry.spans():
        values += [str(v) for v in (span.attributes or {}).values()]
        for event in span.events:
            values.append(event.name)
            values += [str(v) for v in (event.attributes or {}).values()]
    return "\n".join(values)


async def test_one_client_span_per_model_call(face: str, telemetry: TelemetryCapture) -> None:
    """Each turn is one CLIENT span ``chat <model>`` under its send/stream span, with
    the reply id and usage; a re-seed inside a turn (two HTTP requests) is still one
    span, carrying the re-seed event."""
    fake = FakeAnthropic()
    m = manager(face, _providers(face, fake), telemetry)
    s = await m.create(provider="anthropic", system="Be terse.")
    first = await s.send("one")
    await s.stream("two")
    fake.faults = [Fault(status=404, error_code="thread_not_found")]
    third = await s.send("three")
    await m.close()

    chats = telemetry.spans(f"chat {MODEL}")
    assert len(fake.calls) == 4 and len(chats) == 3
    assert all(chat.kind is SpanKind.CLIENT for chat in chats)
    attributes = dict(chats[0].attributes or {})
    assert attributes["gen_ai.provider.name"] == "anthropic"
    assert attributes["gen_ai.response.id"] == first.provider_id == "msg_0001"
    assert attributes["gen_ai.usage.input_tokens"] == 20
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert [e.name for e in chats[2].events] == ["threadline.native.reseed"]
    assert dict(chats[2].events[0].attributes or {}) == {"reason": "thread_not_found", "items": 4}
    assert dict(chats[2].attributes or {})["gen_ai.response.id"] == third.provider_id
    assert s.native_id == third.provider_id


async def test_no_key_or_content_in_spans(face: str, telemetry: TelemetryCapture) -> None:
    """Neither message content nor an API key quoted by the server reaches a span."""
    fake = FakeAnthropic()
    m = manager(face, _providers(face, fake), telemetry)
    s = await m.create(provider="anthropic")
    await s.send("my secret plan")
    fake.faults = [Fault(status=401, message="invalid x-api-key sk-ant-api03-SECRETKEY123")]
    with pytest.raises(tl.AuthenticationError) as refused:
        await s.send("another secret plan")
    assert refused.value.status_code == 401 and "SECRETKEY" not in str(refused.value)
    await m.close()
    recorded = _strings(telemetry)
    assert "SECRETKEY" not in recorded and "secret plan" not in recorded
    assert "authentication_failed" in recorded  # the failure itself is recorded (error.type)


async def test_529_is_retried_by_the_policy_without_duplicates(
    face: str, telemetry: TelemetryCapture
) -> None:
    """Two overloaded answers, then success: the session holds the turn once, and so
    does the thread it continues."""
    fake = FakeAnthropic()
    m = manager(face, _providers(face, fake), telemetry, attempts=3)
    s = await m.create(provider="anthropic")
    await s.send("a")
    fake.faults = [Fault(status=529), Fault(status=529)]
    reply = await s.send("b")
    assert [x.text for x in await s.load_messages()] == ["a", "re: a", "b", "re: b"]
    assert fake.thread_texts(reply.provider_id) == [
        ("user", "a"),
        ("assistant", "re: a"),
        ("user", "b"),
        ("assistant", "re: b"),
    ]
    await m.close()


async def test_restore_and_fork_send_the_right_context(
    face: str, telemetry: TelemetryCapture
) -> None:
    """After ``restore`` the next turn's thread holds exactly the restored history;
    a fork continues on its own thread from the shared history, parent untouched."""
    fake = FakeAnthropic()
    m = manager(face, _providers(face, fake), telemetry)
    s = await m.create(provider="anthropic")
    await s.send("a")
    cp = await s.checkpoint("after a")
    await s.send("b")
    await s.restore(cp)
    after = await s.send("c")
    assert fake.bodies[-1]["thread"] == {"type": "create"}
    assert fake.thread_texts(after.provider_id) == [
        ("user", "a"),
        ("assistant", "re: a"),
        ("user", "c"),
        ("assistant", "re: c"),
    ]

    child = await s.fork()
    forked = await child.send("d")
    parent = await s.send("e")
    assert [t for _, t in fake.thread_texts(forked.provider_id)] == [
        "a",
        "re: a",
        "c",
        "re: c",
        "d",
        "re: d",
    ]
    assert [t for _, t in fake.thread_texts(parent.provider_id)][-2:] == ["e", "re: e"]
    assert "d" not in [t for _, t in fake.thread_texts(parent.provider_id)]
    await m.close()


async def test_hand_off_to_openai_and_back_keeps_the_conversation(
    face: str, telemetry: TelemetryCapture
) -> None:
    """Anthropic (with a tool pair and thinking) → OpenAI → Anthropic: each side gets
    the visible conversation and the tool pair in its own format; thinking stays
    with Anthropic."""
    fake = FakeAnthropic(thinking=True)
    openai = FakeOpenAI()
    providers = _providers(face, fake, OpenAIProvider(client=openai.client(sync=face == "sync")))
    m = manager(face, providers, telemetry)
    tool = tl.Tool(name="weather")
    s = await m.create(provider="anthropic", tools=[tool])
    call = (await s.send('/tool weather {"city": "Oslo"}')).tool_calls[0]
    await s.send(tl.ToolResult(call_id=call.call_id, output="3C"))

    other = await s.fork(provider="openai", model="gpt-5.5")
    assert (await other.send("and tomorrow?")).text == "re: and tomorrow?"
    seeded = openai.requests("POST", "/v1/conversations")[0].body["items"]
    assert [item.get("type", "message") for item in seeded] == [
        "message",
        "function_call",
        "function_call_output",
        "message",
    ]
    assert seeded[1]["call_id"] == seeded[2]["call_id"] == call.call_id

    back = await other.fork(provider="anthropic", model=MODEL)
    reply = await back.send("thanks")
    sent = fake.bodies[-1]["messages"]
    assert fake.bodies[-1]["thread"] == {"type": "create"}
    assert [m["role"] for m in sent] == [
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    assert sent[1]["content"][0]["type"] == "thinking"  # Anthropic's own, kept
    assert sent[1]["content"][1] == {
        "type": "tool_use",
        "id": call.call_id,
        "name": "weather",
        "input": {"city": "Oslo"},
    }
    assert sent[5]["content"] == "re: and tomorrow?"
    assert reply.text == "re: thanks"
    await m.close()


async def test_hand_off_with_echo_both_ways(face: str, telemetry: TelemetryCapture) -> None:
    fake = FakeAnthropic()
    m = manager(face, _providers(face, fake, EchoProvider()), telemetry)
    s = await m.create(provider="echo")
    await s.send("hello")
    moved = await s.fork(provider="anthropic", model=MODEL)
    assert (await moved.send("again")).text == "re: again"
    assert [x["content"] for x in fake.bodies[-1]["messages"]] == ["hello", "echo: hello", "again"]
    back = await moved.fork(provider="echo", model="echo-1")
    assert (await back.send("bye")).text == "echo: bye"
    await m.close()
