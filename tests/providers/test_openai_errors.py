"""Errors, retries and the no-duplicates rule for retried OpenAI turns."""

from __future__ import annotations

import inspect
import sys
from typing import TYPE_CHECKING

import pytest
from openai_fake import Fault

import threadline as tl
from threadline.providers import TurnRequest, builtin_provider
from threadline.providers.openai import OpenAIProvider

if TYPE_CHECKING:
    from openai_fake import Flavor


async def test_429_with_retry_after_is_retried_once_without_duplicates(
    flavor: Flavor, sleeps: list[float]
) -> None:
    """A 429 with ``Retry-After: 7`` waits 7 seconds (recorded, not slept), then the
    same turn succeeds; mirror and conversation each hold it once."""
    server = flavor.server
    s = await flavor.create()
    await s.send("first")
    server.faults = [Fault(status=429, headers={"retry-after": "7"})]

    reply = await s.send("second")

    assert reply.text == "re: second"
    assert sleeps == [7.0]
    assert [m.text for m in s.messages] == ["first", "re: first", "second", "re: second"]
    assert [t for _, t in server.texts(s.native_id)] == [
        "first",
        "re: first",
        "second",
        "re: second",
    ]
    assert len(server.response_bodies) == 3
    # A 429 is not ambiguous: no need to look at the conversation before retrying.
    assert server.requests("GET", f"/v1/conversations/{s.native_id}/items") == []


async def test_repeated_5xx_ends_in_a_retryable_error_with_the_mirror_unchanged(
    flavor: Flavor, sleeps: list[float]
) -> None:
    """Four 500s: every attempt is made (checking the conversation before each
    re-send, since a 500 may hide a stored turn), then a retryable
    `ProviderUnavailableError` carrying the status; nothing is mirrored."""
    server = flavor.server
    s = await flavor.create()
    await s.send("first")
    before = [m.id for m in s.messages]
    conversation = s.native_id
    server.faults = [Fault(status=500)] * 4

    with pytest.raises(tl.ProviderUnavailableError, match="openai 500: boom") as caught:
        await s.send("second")

    error = caught.value
    assert error.status_code == 500 and error.retryable and error.ambiguous
    assert error.provider == "openai" and "boom" in str(error)
    assert [m.id for m in s.messages] == before
    assert len(server.response_bodies) == 5
    assert len(sleeps) == 3
    assert len(server.requests("GET", f"/v1/conversations/{conversation}/items")) == 3
    # The cache is no longer trusted: it is deleted, and the next turn re-seeds
    # from the mirror.
    assert s.native_id is None
    assert len(server.requests("DELETE", f"/v1/conversations/{conversation}")) == 1
    await s.send("third")
    assert [t for _, t in server.texts(s.native_id)] == [
        "first",
        "re: first",
        "third",
        "re: third",
    ]


async def test_503_is_retried_without_checking_the_conversation(
    flavor: Flavor, sleeps: list[float]
) -> None:
    """503 means the request was turned away: retried, and not ambiguous."""
    server = flavor.server
    s = await flavor.create()
    await s.send("first")
    server.faults = [Fault(status=503), Fault(status=503)]

    await s.send("second")

    assert len(sleeps) == 2
    assert server.requests("GET", f"/v1/conversations/{s.native_id}/items") == []
    assert [t for _, t in server.texts(s.native_id)][-2:] == ["second", "re: second"]


async def test_a_timeout_after_the_server_stored_the_turn_does_not_duplicate_it(
    flavor: Flavor,
) -> None:
    """The server stored the turn but the reply never arrived: the retry reads the
    conversation's newest items, finds the turn and returns it, sending nothing again.
    The mirror gets the server's item ids for both messages."""
    server = flavor.server
    s = await flavor.create()
    await s.send("first")
    server.faults = [Fault(timeout_after_storing=True)]

    reply = await s.send("second")

    assert reply.text == "re: second"
    assert len(server.response_bodies) == 2  # the turn was sent once
    [listing] = server.requests("GET", f"/v1/conversations/{s.native_id}/items")
    assert listing.params == {"order": "desc", "limit": "100"}
    items = server.conversations[s.native_id]
    assert [t for _, t in server.texts(s.native_id)] == [
        "first",
        "re: first",
        "second",
        "re: second",
    ]
    assert s.messages[2].provider_id == items[2]["id"]
    assert reply.provider_id == items[3]["id"]
    assert flavor.events("threadline.native.recovered") == [{"items": 2}]
    # And the conversation carries on normally afterwards.
    await s.send("third")
    assert server.response_bodies[-1]["input"] == [{"role": "user", "content": "third"}]


async def test_a_timeout_on_the_first_turn_reuses_the_conversation_it_created(
    flavor: Flavor,
) -> None:
    """The first attempt created the conversation, then timed out after the turn was
    stored: the retry finds it there. One conversation, one copy of the turn."""
    server = flavor.server
    s = await flavor.create()
    server.faults = [Fault(timeout_after_storing=True)]

    reply = await s.send("hello")

    assert reply.text == "re: hello"
    assert len(server.requests("POST", "/v1/conversations")) == 1
    assert server.texts(s.native_id) == [("user", "hello"), ("assistant", "re: hello")]


async def test_a_timeout_before_anything_was_stored_is_sent_again(flavor: Flavor) -> None:
    """Nothing landed: after checking, the turn is sent again, once."""
    server = flavor.server
    s = await flavor.create()
    await s.send("first")
    server.faults = [Fault(timeout=True)]

    await s.send("second")

    assert len(server.requests("GET", f"/v1/conversations/{s.native_id}/items")) == 1
    assert [b["input"][0]["content"] for b in server.response_bodies] == [
        "first",
        "second",
        "second",
    ]
    assert [t for _, t in server.texts(s.native_id)] == [
        "first",
        "re: first",
        "second",
        "re: second",
    ]


@pytest.mark.parametrize("landed", [True, False], ids=["landed", "not-landed"])
@pytest.mark.parametrize("how", ["send", "stream"])
async def test_every_retry_after_an_ambiguous_failure_checks_the_conversation(
    flavor: Flavor, sleeps: list[float], landed: bool, how: str
) -> None:
    """Timeout, then 503, then 503: the 503s are not ambiguous themselves, but the
    timed-out request may still land, so every later attempt lists the conversation
    first. Here it lands while the second 503 is served: the fourth attempt finds the
    turn and sends nothing. Either way the server and the mirror hold it once."""
    server = flavor.server
    s = await flavor.create()
    await s.send("first")
    conversation = s.native_id
    server.faults = [
        Fault(lands_later=True) if landed else Fault(timeout=True),
        Fault(status=503),
        Fault(status=503, land_pending=True),
    ]

    if how == "send":
        reply = await s.send("second")
    else:
        events = await s.stream("second")
        assert "".join(e.text for e in events if e.type == "text") == "re: second"
        reply = events[-1].message

    assert reply.text == "re: second"
    assert len(sleeps) == 3
    assert len(server.requests("GET", f"/v1/conversations/{conversation}/items")) == 3
    # The first turn, then attempts 1-3; attempt 4 sends only if nothing landed.
    assert len(server.response_bodies) == (4 if landed else 5)
    assert s.native_id == conversation
    assert [t for _, t in server.texts(conversation)] == [
        "first",
        "re: first",
        "second",
        "re: second",
    ]
    assert [m.text for m in s.messages] == ["first", "re: first", "second", "re: second"]
    items = server.conversations[conversation]
    assert reply.provider_id == items[3]["id"]
    if landed:
        assert s.messages[2].provider_id == items[2]["id"]
        assert flavor.events("threadline.native.recovered") == [{"items": 2}]
    else:
        assert flavor.events("threadline.native.recovered") == []
    # And the conversation carries on from there.
    await s.send("third")
    assert server.response_bodies[-1]["input"] == [{"role": "user", "content": "third"}]
    assert [t for _, t in server.texts(conversation)][-2:] == ["third", "re: third"]


async def test_a_turn_landing_late_in_a_partial_state_moves_to_a_fresh_conversation(
    flavor: Flavor,
) -> None:
    """Timeout, 503, and meanwhile the first request stored only its input: the next
    check finds the conversation diverged, deletes it and re-seeds; one copy of the
    turn in the new conversation."""
    server = flavor.server
    s = await flavor.create()
    await s.send("first")
    old = s.native_id
    server.faults = [
        Fault(lands_later=True, input_only=True),
        Fault(status=503, land_pending=True),
    ]

    await s.send("second")

    assert s.native_id != old
    assert old not in server.conversations
    assert list(server.conversations) == [s.native_id]
    assert [t for _, t in server.texts(s.native_id)] == [
        "first",
        "re: first",
        "second",
        "re: second",
    ]
    assert flavor.events("threadline.native.reseed") == [{"reason": "diverged", "items": 2}]


async def test_a_plain_retry_without_an_ambiguous_attempt_does_not_check(
    server: object,
) -> None:
    """The adapter follows ``TurnRequest.ambiguous``, not just the last error: a retry
    after a 503 with ``ambiguous`` unset sends at once; with it set, it lists first."""
    from openai_fake import FakeOpenAI

    assert isinstance(server, FakeOpenAI)
    provider = OpenAIProvider(client=server.client())
    first = tl.Message.user("first")
    engine = provider.async_engine()
    request = TurnRequest.with_history(
        (), session_id="s1", model="gpt-5.5", system=None, mode="native", input=first
    )
    result = await engine.turn(request)
    history: tuple[tl.Message, ...] = (first, *result.output)
    busy = tl.ProviderUnavailableError("busy", provider="openai", status_code=503, retryable=True)
    for ambiguous in (False, True):
        server.calls.clear()
        request = TurnRequest.with_history(
            history,
            session_id="s1",
            model="gpt-5.5",
            system=None,
            mode="native",
            input=tl.Message.user(f"turn {ambiguous}"),
            native=result.native,
            attempt=3,
            last_error=busy,
            ambiguous=ambiguous,
        )
        result = await engine.turn(request)
        assert [c.method for c in server.calls] == (["GET", "POST"] if ambiguous else ["POST"])
        history = (*history, request.input, *result.output)
    await provider.async_engine().aclose()


async def test_a_partial_turn_on_the_server_moves_the_session_to_a_fresh_conversation(
    flavor: Flavor,
) -> None:
    """The server stored the input but no reply: that conversation no longer matches
    the mirror, so the retry deletes it and re-seeds a new one rather than sending the
    input twice."""
    server = flavor.server
    s = await flavor.create()
    await s.send("first")
    old = s.native_id
    server.faults = [Fault(timeout_after_storing=True, input_only=True)]

    await s.send("second")

    assert s.native_id != old
    assert [t for _, t in server.texts(s.native_id)] == [
        "first",
        "re: first",
        "second",
        "re: second",
    ]
    assert flavor.events("threadline.native.reseed") == [{"reason": "diverged", "items": 2}]
    # The diverged conversation is deleted on the spot (its own CLIENT span), before
    # the new one is created.
    assert old not in server.conversations
    assert [c.path for c in server.calls if c.method == "DELETE"] == [f"/v1/conversations/{old}"]
    deleted = server.calls.index(server.requests("DELETE", f"/v1/conversations/{old}")[0])
    created = server.calls.index(server.requests("POST", "/v1/conversations")[-1])
    assert deleted < created
    [span] = flavor.telemetry.spans("delete_conversation")
    assert span.attributes is not None
    assert span.attributes["gen_ai.conversation.id"] == s.id


async def test_failing_to_delete_a_diverged_conversation_does_not_fail_the_turn(
    flavor: Flavor, caplog: pytest.LogCaptureFixture
) -> None:
    """Deleting the diverged conversation is best effort: a 500 there is logged as a
    WARNING (no content, no key, no server message) and the turn goes on."""
    server = flavor.server
    s = await flavor.create()
    await s.send("first")
    old = s.native_id
    server.faults = [Fault(timeout_after_storing=True, input_only=True)]
    server.delete_status = 500

    with caplog.at_level("WARNING", logger="threadline.providers.openai"):
        reply = await s.send("second secret")

    assert reply.text == "re: second secret"
    assert s.native_id != old and old in server.conversations
    assert len(server.requests("DELETE", f"/v1/conversations/{old}")) == 1
    [record] = [r for r in caplog.records if r.name == "threadline.providers.openai"]
    assert record.levelname == "WARNING"
    assert "could not delete the diverged conversation" in record.getMessage()
    assert s.id in record.getMessage()
    assert "secret" not in caplog.text and "cannot delete now" not in caplog.text
    assert "sk-" not in caplog.text


async def test_401_is_an_authentication_error_that_never_shows_the_key(
    flavor: Flavor, sleeps: list[float]
) -> None:
    """401 → `AuthenticationError`, not retried, with the server's message and the
    key it quotes masked."""
    server = flavor.server
    s = await flavor.create()
    message = "Incorrect API key provided: sk-proj-abc123***wxyz. You can find your key..."
    server.faults = [Fault(status=401, error={"message": message, "code": "invalid_api_key"})]

    with pytest.raises(tl.AuthenticationError, match="Incorrect API key provided") as caught:
        await s.send("hi")

    error = caught.value
    assert error.status_code == 401 and not error.retryable
    assert "Incorrect API key provided" in str(error)
    assert "sk-proj" not in str(error) and "abc123" not in str(error)
    assert sleeps == []
    assert len(server.response_bodies) == 1
    assert s.messages == []


async def test_context_overflow_is_its_own_error(flavor: Flavor) -> None:
    """A 400 with ``context_length_exceeded`` → `ContextWindowExceededError`, final."""
    server = flavor.server
    s = await flavor.create()
    error = {"message": "Your input exceeds the context window.", "code": "context_length_exceeded"}
    server.faults = [Fault(status=400, error=error)]

    with pytest.raises(tl.ContextWindowExceededError, match="exceeds the context window") as caught:
        await s.send("hi")

    assert caught.value.status_code == 400 and not caught.value.retryable


async def test_other_4xx_are_final_provider_errors(flavor: Flavor) -> None:
    """A plain 400 is a `ProviderError` with its status, not retried."""
    server = flavor.server
    s = await flavor.create()
    server.faults = [Fault(status=400, error={"message": "Invalid value for 'temperature'."})]

    with pytest.raises(
        tl.ProviderError, match="openai 400: Invalid value for 'temperature'"
    ) as caught:
        await s.send("hi", temperature=9)

    assert type(caught.value) is tl.ProviderError
    assert caught.value.status_code == 400 and not caught.value.retryable
    assert "temperature" in str(caught.value)


async def test_without_a_key_the_built_client_fails_as_authentication(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No client and no ``OPENAI_API_KEY``: the first turn raises `AuthenticationError`."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    async with tl.AsyncSessionManager("memory://") as manager:
        s = await manager.create(provider="openai")
        with pytest.raises(tl.AuthenticationError, match="OPENAI_API_KEY"):
            await s.send("hi")


async def test_the_built_client_reads_the_environment_with_sdk_retries_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``OPENAI_API_KEY``/``OPENAI_BASE_URL`` configure the client threadline builds, and
    its own retries are off (threadline's policy is the only retry layer)."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-key-1234")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:9/v1")
    provider = builtin_provider("openai")
    assert isinstance(provider, OpenAIProvider)
    client = provider.async_engine()._client
    assert client.max_retries == 0
    assert str(client.base_url) == "http://localhost:9/v1/"
    # Its HTTP requests reach threadline's debug log (method, host, path, status).
    assert len(client._client.event_hooks["response"]) == 1
    assert inspect.iscoroutinefunction(client._client.event_hooks["response"][0])
    await provider.async_engine().aclose()
    # The blocking face builds a blocking client with blocking hooks.
    sync_client = provider.sync_engine()._client
    (hook,) = sync_client._client.event_hooks["response"]
    assert not inspect.iscoroutinefunction(hook) and sync_client.max_retries == 0
    provider.sync_engine().close()


async def test_a_missing_sdk_asks_for_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the openai package the provider says which extra to install."""
    monkeypatch.setitem(sys.modules, "openai", None)
    provider = OpenAIProvider()
    with pytest.raises(tl.ConfigurationError, match=r"pip install 'threadline\[openai\]'"):
        provider.async_engine()


def test_a_client_of_the_wrong_kind_is_refused() -> None:
    """Only OpenAI SDK clients are accepted, and each face takes its own kind: a
    SessionManager an ``openai.OpenAI``, an AsyncSessionManager an ``openai.AsyncOpenAI``."""
    import openai

    with pytest.raises(
        tl.ConfigurationError,
        match=r"needs a client of type openai\.AsyncOpenAI, not builtins\.object",
    ):
        OpenAIProvider(client=object()).async_engine()
    sync_client = openai.OpenAI(api_key="sk-test-0000", max_retries=0)
    async_client = openai.AsyncOpenAI(api_key="sk-test-0000", max_retries=0)
    with pytest.raises(
        tl.ConfigurationError, match=r"of a SessionManager needs a client of type openai\.OpenAI,"
    ):
        OpenAIProvider(client=async_client).sync_engine()
    with pytest.raises(tl.ConfigurationError, match=r"AsyncSessionManager needs a client of type"):
        OpenAIProvider(client=sync_client).async_engine()
    with tl.SessionManager("memory://", providers=[OpenAIProvider(client=async_client)]) as m:
        s = m.create(provider="openai")
        with pytest.raises(
            tl.ConfigurationError, match=r"type openai\.OpenAI, not openai\.AsyncOpenAI"
        ):
            s.send("hi")
        assert s.messages == []


def test_an_unknown_native_kind_is_refused() -> None:
    with pytest.raises(tl.ValidationError, match="native must be 'conversations' or 'responses'"):
        OpenAIProvider(native="threads")  # type: ignore[arg-type]


async def test_a_conversation_gone_during_the_landed_check_is_re_seeded(server: object) -> None:
    """After an ambiguous failure the retry lists the conversation; if the server says
    it no longer exists, the turn cannot be in it: a new one is seeded and the turn
    goes through instead of failing."""
    from openai_fake import FakeOpenAI

    assert isinstance(server, FakeOpenAI)
    provider = OpenAIProvider(client=server.client())
    first = tl.Message.user("first")
    engine = provider.async_engine()
    request = TurnRequest.with_history(
        (), session_id="s1", model="gpt-5.5", system=None, mode="native", input=first
    )
    result = await engine.turn(request)
    assert result.native is not None
    gone = result.native.handle
    del server.conversations[gone]  # expired on the server while we retried
    timeout = tl.ProviderUnavailableError("timed out", provider="openai", ambiguous=True)
    retry = TurnRequest.with_history(
        (first, *result.output),
        session_id="s1",
        model="gpt-5.5",
        system=None,
        mode="native",
        input=tl.Message.user("second"),
        native=result.native,
        attempt=2,
        last_error=timeout,
        ambiguous=True,
    )
    again = await engine.turn(retry)
    assert again.native is not None
    assert again.native.handle != gone
    assert [t for _, t in server.texts(again.native.handle)] == [
        "first",
        "re: first",
        "second",
        "re: second",
    ]
    await provider.async_engine().aclose()
