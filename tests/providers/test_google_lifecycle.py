"""The Google provider's configuration and the life of its server-side state: options,
the client threadline builds (retries off, closed by the engine that built it), and
deleting a session's interaction chain."""

from __future__ import annotations

import subprocess
import sys

import pytest
from google_fake import Driver

import threadline as tl
from threadline.providers.base import NativeState
from threadline.providers.google import GoogleProvider

FACES = pytest.mark.parametrize("face", ["async", "sync"])


@FACES
async def test_delete_walks_the_chain_back_to_its_first_interaction(face: str) -> None:
    """Every interaction the session's chain holds (continuation hops too) is deleted,
    newest first; the first one needs no lookup."""
    d = Driver(face)
    await d.send("one")
    d.fake.hops = 2
    await d.send("two")
    await d.send("three")
    assert d.native is not None
    chain = d.fake.chain(d.native.handle)  # type: ignore[arg-type]
    assert len(chain) == 4
    d.fake.calls.clear()

    await d.delete_native(d.native)

    assert d.fake.interactions == {}
    assert [(c.method, c.path.rsplit("/", 1)[1]) for c in d.fake.calls] == [
        step for iid in reversed(chain[1:]) for step in (("GET", iid), ("DELETE", iid))
    ] + [("DELETE", chain[0])]
    await d.close()


@FACES
async def test_delete_is_quiet_about_interactions_already_gone(face: str) -> None:
    """A 404 on delete counts as deleted and the walk goes on; a chain whose newest
    interaction is gone ends the walk there."""
    d = Driver(face)
    await d.send("one")
    await d.send("two")
    native = d.native
    assert native is not None
    d.fake.delete_status = 404
    await d.delete_native(native)
    assert len(d.fake.requests("DELETE")) == 2  # both tried, both "gone"

    d.fake.delete_status = None
    d.fake.interactions.pop(native.handle)  # type: ignore[arg-type]
    await d.delete_native(native)
    assert len(d.fake.interactions) == 1  # unreachable without the newest one
    await d.close()


@FACES
async def test_delete_failures_raise_for_the_core_to_log(face: str) -> None:
    d = Driver(face)
    await d.send("one")
    d.fake.delete_status = 500
    with pytest.raises(tl.ProviderUnavailableError) as failed:
        await d.delete_native(d.native)  # type: ignore[arg-type]
    assert failed.value.status_code == 500
    await d.close()


@FACES
async def test_delete_ignores_state_that_is_not_a_chain(face: str) -> None:
    d = Driver(face)
    await d.delete_native(NativeState(provider="google", handle=None))
    await d.delete_native(NativeState(provider="google", handle="conv_1", data={"kind": "x"}))
    assert d.fake.calls == []
    await d.close()


def test_options_are_checked_when_the_provider_is_made() -> None:
    with pytest.raises(tl.ValidationError, match=r"native must be 'interactions'"):
        GoogleProvider(native="threads")  # type: ignore[arg-type]
    with pytest.raises(tl.ValidationError, match=r"pass them to genai\.Client"):
        GoogleProvider(client=object(), vertexai=True)
    with pytest.raises(tl.ValidationError, match="Vertex AI options"):
        GoogleProvider(vertexai=False, project="p")


def test_vertex_ai_is_named_in_telemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    """``gcp.vertex_ai`` when configured here, by the SDK's environment variable, or
    by the client given; ``gcp.gemini`` otherwise."""
    monkeypatch.delenv("GOOGLE_GENAI_USE_VERTEXAI", raising=False)
    monkeypatch.delenv("GOOGLE_GENAI_USE_ENTERPRISE", raising=False)
    assert GoogleProvider().system_name == "gcp.gemini"
    assert GoogleProvider(project="p", location="us-central1").system_name == "gcp.vertex_ai"
    assert GoogleProvider(vertexai=True).system_name == "gcp.vertex_ai"
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    assert GoogleProvider().system_name == "gcp.vertex_ai"
    assert GoogleProvider.system_name == "gcp.gemini"  # the class default


@FACES
async def test_the_client_threadline_builds_has_sdk_retries_off(
    face: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Built from ``GOOGLE_API_KEY``: one attempt per call (threadline retries), and
    the engine that built it closes it."""
    monkeypatch.setenv("GOOGLE_API_KEY", "test-key")
    monkeypatch.delenv("GOOGLE_GENAI_USE_VERTEXAI", raising=False)
    provider = GoogleProvider()
    engine = provider.sync_engine() if face == "sync" else provider.async_engine()
    client = engine._client
    assert client._api_client._http_options.retry_options.attempts == 1
    assert not client.vertexai
    if face == "sync":
        engine.close()
        assert client._api_client._httpx_client.is_closed
    else:
        await engine.aclose()


@FACES
async def test_a_missing_key_says_what_to_set(face: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI"):
        monkeypatch.delenv(name, raising=False)
    provider = GoogleProvider()
    with pytest.raises(tl.AuthenticationError, match="GOOGLE_API_KEY or GEMINI_API_KEY"):
        provider.sync_engine() if face == "sync" else provider.async_engine()


@FACES
async def test_a_client_you_pass_is_used_by_both_faces_and_left_open(face: str) -> None:
    """One ``genai.Client`` serves a sync and an async manager; closing an engine does
    not close a client it was given."""
    d = Driver(face)
    await d.send("one")
    await d.close()
    other = Driver("async" if face == "sync" else "sync", d.fake, provider=d.provider)
    assert (await other.send("two")).text == "re: two"
    await other.close()


def test_anything_but_a_genai_client_is_refused() -> None:
    d = Driver("async")
    with pytest.raises(tl.ConfigurationError, match=r"pass the genai\.Client itself"):
        GoogleProvider(client=d.fake.client().aio).async_engine()
    with pytest.raises(tl.ConfigurationError, match=r"needs a google\.genai\.Client, not dict"):
        GoogleProvider(client={}).sync_engine()


def test_importing_the_provider_does_not_import_the_sdk() -> None:
    code = (
        "import sys, threadline, threadline.providers.google;"
        "assert 'google.genai' not in sys.modules, 'imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@FACES
@pytest.mark.parametrize(
    ("mode", "options", "words"),
    [
        ("native", {"temperature": 0.2}, "generation_config"),
        ("native", {"store": False}, "set by threadline"),
        ("native", {"generation_config": {"temperature": "hot"}}, "generation_config"),
        ("local", {"generation_config": {}}, "not an option of generateContent"),
        ("local", {"tools": []}, "set by threadline"),
        ("local", {"temperature": "hot"}, "temperature"),
    ],
)
async def test_turn_options_are_checked_before_anything_is_sent(
    face: str, mode: str, options: dict[str, object], words: str
) -> None:
    """Options threadline sets, or the API does not take, or with a bad value: a
    `ValidationError` naming them, and no request."""
    d = Driver(face, mode=mode)
    with pytest.raises(tl.ValidationError, match=words):
        await d.send("hi", **options)
    assert d.fake.calls == []
    await d.close()


@FACES
async def test_options_reach_the_request(face: str) -> None:
    native = Driver(face)
    await native.send("hi", generation_config={"max_output_tokens": 64}, labels={"team": "a"})
    assert native.fake.bodies[-1]["generation_config"] == {"max_output_tokens": 64}
    assert native.fake.bodies[-1]["labels"] == {"team": "a"}
    local = Driver(face, mode="local")
    await local.send("hi", max_output_tokens=64, stop_sequences=["END"])
    assert local.fake.bodies[-1]["generationConfig"] == {
        "maxOutputTokens": 64,
        "stopSequences": ["END"],
    }
    await native.close()
    await local.close()
