"""v1 strategies and provider adapters: the choices, the request shapes, and reading
any response shape a provider (or a legacy test) hands back."""

from __future__ import annotations

import types
from typing import Any

import pytest

from threadline_v1 import (
    ClaudeSessionAdapter,
    ClientSideSessionStrategy,
    CohereSessionAdapter,
    GeminiSessionAdapter,
    HybridSessionStrategy,
    LangSwarmSession,
    MessageRole,
    MistralSessionAdapter,
    NativeSessionStrategy,
    OpenAISessionAdapter,
    SessionAdapterFactory,
    SessionControl,
    SessionStrategyFactory,
)
from threadline_v1.adapters import TestSessionAdapter


@pytest.fixture
def session() -> LangSwarmSession:
    s = LangSwarmSession("u", "s1", provider="openai", model="m")
    s.add_message("You help.", MessageRole.SYSTEM)
    s.add_message("Hi", MessageRole.USER)
    s.add_message("Hello!", MessageRole.ASSISTANT)
    return s


def test_strategies_choose_native_for_openai_and_mistral_only() -> None:
    native, client, hybrid = (
        NativeSessionStrategy(),
        ClientSideSessionStrategy(),
        HybridSessionStrategy(),
    )
    for provider, expected in [("openai", True), ("MISTRAL", True), ("claude", False)]:
        assert native.should_use_native_sessions(provider, "m") is expected
        assert hybrid.should_use_native_sessions(provider, "m") is expected
        assert client.should_use_native_sessions(provider, "m") is False
    assert hybrid.get_optimal_strategy("openai", "m") == "native"
    assert hybrid.get_optimal_strategy("gemini", "m") == "client"
    assert native.supports_threading("cohere") is False and client.supports_threading("x")


def test_strategy_parameters(session: LangSwarmSession) -> None:
    session.metadata.provider_thread_id = "thread_1"
    assert NativeSessionStrategy().get_session_parameters(session) == {"thread_id": "thread_1"}
    params = ClientSideSessionStrategy().get_session_parameters(session)
    assert params == {
        "messages": session.get_messages_for_api(),
        "session_id": "s1",
        "user_id": "u",
    }
    assert HybridSessionStrategy().get_session_parameters(session) == {"thread_id": "thread_1"}


def test_strategy_factory() -> None:
    assert isinstance(
        SessionStrategyFactory.create_strategy(SessionControl.NATIVE), NativeSessionStrategy
    )
    assert isinstance(SessionStrategyFactory.create_strategy("hybrid"), HybridSessionStrategy)
    with pytest.raises(ValueError, match="Unknown session control"):
        SessionStrategyFactory.create_strategy("sometimes")
    assert SessionStrategyFactory.get_recommended_strategy("openai", "m") is SessionControl.HYBRID
    assert (
        SessionStrategyFactory.get_recommended_strategy("claude", "m") is SessionControl.LANGSWARM
    )
    caps = SessionStrategyFactory.analyze_provider_capabilities("OpenAI")
    assert caps["native_threading"] is True and "assistants_api" in caps["features"]
    assert set(caps) == {
        "native_threading",
        "stateful_conversations",
        "message_ids",
        "thread_branching",
        "recommended_strategy",
        "features",
    }
    assert SessionStrategyFactory.analyze_provider_capabilities("nope")["features"] == [
        "unknown_provider"
    ]


def test_request_shapes(session: LangSwarmSession) -> None:
    """Each adapter's request, with the new message appended once."""
    history = [
        {"role": "system", "content": "You help."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
    ]
    new = {"role": "user", "content": "More"}
    assert OpenAISessionAdapter("m").prepare_request(session, "More") == {
        "model": "m",
        "messages": [*history, new],
    }
    session.metadata.provider_thread_id = "th"
    assert OpenAISessionAdapter("m").prepare_request(session, "More")["thread_id"] == "th"
    assert ClaudeSessionAdapter("c").prepare_request(session, "More") == {
        "model": "c",
        "messages": [*history, new],
        "max_tokens": 4096,
    }
    assert GeminiSessionAdapter("g").prepare_request(session, "More") == {
        "model": "g",
        "contents": [
            {"role": "model", "parts": [{"text": "You help."}]},
            {"role": "user", "parts": [{"text": "Hi"}]},
            {"role": "model", "parts": [{"text": "Hello!"}]},
            {"role": "user", "parts": [{"text": "More"}]},
        ],
    }
    session.metadata.provider_agent_id, session.metadata.provider_conversation_id = "ag", "cv"
    assert MistralSessionAdapter("x").prepare_request(session, "More") == {
        "model": "x",
        "messages": [*history, new],
        "agent_id": "ag",
        "conversation_id": "cv",
    }
    assert CohereSessionAdapter("co").prepare_request(session, "More") == {
        "model": "co",
        "message": "More",
        "chat_history": [
            {"role": "USER", "message": "Hi"},
            {"role": "CHATBOT", "message": "Hello!"},
        ],
    }


def test_openai_create_session_asks_for_a_thread(session: LangSwarmSession) -> None:
    params = OpenAISessionAdapter("m").create_session(session)
    assert params["thread"] == {"metadata": {"langswarm_session_id": "s1", "user_id": "u"}}
    session.metadata.session_control = SessionControl.LANGSWARM
    assert "thread" not in OpenAISessionAdapter("m").create_session(session)


ns = types.SimpleNamespace


@pytest.mark.parametrize(
    ("response", "text"),
    [
        ({"choices": [{"message": {"content": "from a dict"}}]}, "from a dict"),
        (ns(choices=[ns(message=ns(content="from objects", tool_calls=None))]), "from objects"),
        ({"content": [{"text": "claude blocks"}]}, "claude blocks"),
        ({"candidates": [{"content": {"parts": [{"text": "gemini"}]}}]}, "gemini"),
        ({"text": "cohere"}, "cohere"),
        ({"content": "plain content"}, "plain content"),
        ("just a string", "just a string"),
        (None, ""),
        ({"unexpected": 1}, "{'unexpected': 1}"),
    ],
)
def test_adapters_read_any_response_shape(
    session: LangSwarmSession, response: Any, text: str
) -> None:
    """Every adapter reads the same shapes without raising."""
    for adapter in (
        OpenAISessionAdapter("m"),
        ClaudeSessionAdapter("m"),
        GeminiSessionAdapter("m"),
        MistralSessionAdapter("m"),
        CohereSessionAdapter("m"),
    ):
        message = adapter.process_response(session, response)
        assert message.role is MessageRole.ASSISTANT
        assert message.content == text
        adapter.update_session_from_response(session, response)


def test_usage_thread_and_tool_calls_are_taken_from_responses(session: LangSwarmSession) -> None:
    adapter = OpenAISessionAdapter("m")
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    response = {
        "id": "resp_1",
        "thread_id": "thread_9",
        "choices": [{"message": {"content": None, "tool_calls": [call]}}],
        "usage": {"input_tokens": 7, "output_tokens": 3},
    }
    message = adapter.process_response(session, response)
    assert (message.id, message.provider_message_id) == ("openai_resp_1", "resp_1")
    assert message.tool_calls == [call] and message.content == ""
    adapter.update_session_from_response(session, response)
    assert session.metadata.total_tokens == 10
    assert session.metadata.provider_thread_id == "thread_9"
    mistral = MistralSessionAdapter("x")
    mistral.update_session_from_response(
        session, ns(conversation_id="cv", usage=ns(total_tokens=5))
    )
    assert session.metadata.provider_conversation_id == "cv"
    assert session.metadata.total_tokens == 15
    cohere = CohereSessionAdapter("c").process_response(
        session, {"text": "t", "generation_id": "g"}
    )
    assert (cohere.id, cohere.provider_message_id) == ("cohere_g", "g")


def test_test_adapter_answers_test_response(session: LangSwarmSession) -> None:
    reply = TestSessionAdapter("t").process_response(session, object())
    assert (reply.content, reply.id) == ("Test response", "test_msg_4")
    assert TestSessionAdapter("t").process_response(session, {"content": "c"}).content == "c"


def test_adapter_factory() -> None:
    assert isinstance(SessionAdapterFactory.create_adapter("GPT", "m"), OpenAISessionAdapter)
    assert isinstance(SessionAdapterFactory.create_adapter("anthropic", "m"), ClaudeSessionAdapter)
    assert isinstance(SessionAdapterFactory.create_adapter("google", "m"), GeminiSessionAdapter)
    assert SessionAdapterFactory.create_adapter("none", "m").provider == "test"
    supported = SessionAdapterFactory.get_supported_providers()
    for name in ("openai", "gpt", "claude", "gemini", "mistral", "cohere", "test", "none"):
        assert name in supported and SessionAdapterFactory.supports_provider(name.upper())
    with pytest.raises(ValueError, match="No session adapter available for provider: llama"):
        SessionAdapterFactory.create_adapter("llama", "m")
    assert not SessionAdapterFactory.supports_provider("llama")
