"""The Google adapter under the public API: spans, retries, restore, fork, hand-off,
deletion. Sessions of either face (`SessionManager` or `AsyncSessionManager`, both on
one ``genai.Client``) on the fake server; the provider is passed in ``providers=``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from google_fake import FACES, MODEL, Fault, manager
from opentelemetry.trace import SpanKind

import threadline as tl
from threadline.providers import EchoProvider
from threadline.providers.google import GoogleProvider
from threadline.testing import FakeGemini, TelemetryCapture, capture_telemetry

pytestmark = pytest.mark.parametrize("face", FACES)


@pytest.fixture
def telemetry() -> Iterator[TelemetryCapture]:
    capture = capture_telemetry()
    yield capture
    capture.shutdown()


def _providers(fake: FakeGemini, *others: Any, **options: Any) -> list[Any]:
    return [GoogleProvider(client=fake.client(**options)), *others]


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
    """Each turn is one CLIENT span ``chat <model>`` under its send/stream span, named
    ``gcp.gemini``, with the interaction id and usage; a re-seed inside a turn (two
    requests) is still one span, carrying the re-seed event."""
    fake = FakeGemini()
    m = manager(face, _providers(fake), telemetry)
    s = await m.create(provider="google", system="Be terse.")
    first = await s.send("one")
    await s.stream("two")
    del fake.interactions[s.native_id]
    third = await s.send("three")
    await m.close()

    chats = telemetry.spans(f"chat {MODEL}")
    assert len(fake.bodies) == 4 and len(chats) == 3
    assert all(chat.kind is SpanKind.CLIENT for chat in chats)
    attributes = dict(chats[0].attributes or {})
    assert attributes["gen_ai.provider.name"] == "gcp.gemini"
    assert attributes["gen_ai.response.id"] == first.provider_id == "int_0001"
    assert attributes["gen_ai.usage.input_tokens"] == 10
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert [e.name for e in chats[2].events] == ["threadline.native.reseed"]
    assert dict(chats[2].events[0].attributes or {}) == {"reason": "lost", "items": 4}
    assert s.native_id == third.provider_id


async def test_vertex_ai_sessions_are_named_gcp_vertex_ai(
    face: str, telemetry: TelemetryCapture
) -> None:
    fake = FakeGemini()
    m = manager(face, _providers(fake, vertexai=True), telemetry)
    s = await m.create(provider="google")
    await s.send("hi")
    await m.close()
    [chat] = telemetry.spans(f"chat {MODEL}")
    assert dict(chat.attributes or {})["gen_ai.provider.name"] == "gcp.vertex_ai"
    assert fake.calls[0].path.startswith("/v1beta1/projects/test-project/locations/us-central1/")


async def test_no_key_or_content_in_spans(face: str, telemetry: TelemetryCapture) -> None:
    """Neither message content nor an API key quoted by the server reaches a span."""
    fake = FakeGemini()
    m = manager(face, _providers(fake), telemetry)
    s = await m.create(provider="google")
    await s.send("my secret plan")
    fake.faults = [Fault(status=400, message="API key not valid: AIzaSyD-SECRETKEY-123456")]
    with pytest.raises(tl.ProviderError) as refused:
        await s.send("another secret plan")
    assert refused.value.status_code == 400 and "SECRETKEY" not in str(refused.value)
    await m.close()
    recorded = _strings(telemetry)
    assert "SECRETKEY" not in recorded and "secret plan" not in recorded
    assert "provider_error" in recorded  # the failure itself is recorded (error.type)


async def test_a_rate_limit_is_retried_by_the_policy_without_duplicates(
    face: str, telemetry: TelemetryCapture
) -> None:
    fake = FakeGemini()
    m = manager(face, _providers(fake), telemetry, attempts=3)
    s = await m.create(provider="google")
    await s.send("a")
    fake.faults = [Fault(status=429, error_status="RESOURCE_EXHAUSTED")] * 2
    reply = await s.send("b")
    assert [x.text for x in await s.load_messages()] == ["a", "re: a", "b", "re: b"]
    assert fake.texts(reply.provider_id) == ["a", "re: a", "b", "re: b"]
    await m.close()


async def test_restore_and_fork_send_the_right_context(
    face: str, telemetry: TelemetryCapture
) -> None:
    """After ``restore`` the next turn's chain holds exactly the restored history (the
    dropped chain is deleted); a fork seeds a chain of its own, parent untouched."""
    fake = FakeGemini()
    m = manager(face, _providers(fake), telemetry)
    s = await m.create(provider="google")
    await s.send("a")
    cp = await s.checkpoint("after a")
    await s.send("b")
    await s.restore(cp)
    assert fake.interactions == {}  # the dropped chain was deleted
    after = await s.send("c")
    assert "previous_interaction_id" not in fake.bodies[-1]
    assert fake.texts(after.provider_id) == ["a", "re: a", "c", "re: c"]

    child = await s.fork()
    forked = await child.send("d")
    parent = await s.send("e")
    assert fake.texts(forked.provider_id) == ["a", "re: a", "c", "re: c", "d", "re: d"]
    assert fake.texts(parent.provider_id) == ["a", "re: a", "c", "re: c", "e", "re: e"]
    await m.close()


async def test_hand_off_with_echo_both_ways(face: str, telemetry: TelemetryCapture) -> None:
    """Echo → Google seeds a chain from the echo history; Google → echo and back seeds
    again, with Google's own reply in place."""
    fake = FakeGemini()
    m = manager(face, _providers(fake, EchoProvider()), telemetry)
    s = await m.create(provider="echo")
    await s.send("hello")
    moved = await s.fork(provider="google", model=MODEL)
    assert (await moved.send("again")).text == "re: again"
    assert fake.texts(moved.native_id) == ["hello", "echo: hello", "again", "re: again"]
    back = await moved.fork(provider="echo", model="echo-1")
    assert (await back.send("bye")).text == "echo: bye"
    returned = await back.fork(provider="google", model=MODEL)
    await returned.send("last")
    assert fake.texts(returned.native_id) == [
        "hello",
        "echo: hello",
        "again",
        "re: again",
        "bye",
        "echo: bye",
        "last",
        "re: last",
    ]
    await m.close()


async def test_deleting_a_session_deletes_its_interactions(
    face: str, telemetry: TelemetryCapture
) -> None:
    """``s.delete()`` removes the session and, best effort, every interaction of its
    chain; local mode stores nothing server-side."""
    fake = FakeGemini()
    m = manager(face, _providers(fake), telemetry)
    s = await m.create(provider="google")
    await s.send("one")
    await s.send("two")
    keep = await m.create(provider="google")
    await keep.send("other")
    await s.delete()
    assert list(fake.interactions) == [keep.native_id]

    local = await m.create(provider="google", mode="local")
    await local.send("hi")
    assert local.native_id is None and list(fake.interactions) == [keep.native_id]
    await m.close()
