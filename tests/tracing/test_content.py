"""Message content and API keys: absent by default, content present only when asked."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

import threadline as tl
from threadline.testing import TelemetryCapture

SECRET_KEY = "sk-threadline-test-sentinel-0123456789"
CONTENT_WORDS = ("zanzibar", "Be terse", "lookup", "quokka")


def converse(telemetry: TelemetryCapture, **create: Any) -> tl.ConversationSession:
    """Two turns with a system prompt, a tool call and its result."""
    with tl.SessionManager("memory://", **telemetry.manager_options) as manager:
        s = manager.create(system="Be terse.", **create)
        s.send("hello zanzibar")
        call = s.send('/tool lookup {"animal": "quokka"}', tools=[tl.Tool(name="lookup")])
        (part,) = call.tool_calls
        s.send(tl.ToolResult(call_id=part.call_id, output={"found": "quokka"}))
        return s


def test_no_content_and_no_key_anywhere_by_default(
    telemetry: TelemetryCapture, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Every span name, attribute, event and metric attribute, and every debug log line,
    is free of message text, the system prompt, tool data and the API key."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET_KEY)
    caplog.set_level(logging.DEBUG, logger="threadline")
    converse(telemetry)
    recorded = list(telemetry.values())
    assert "gen_ai.input.messages" not in recorded
    assert "gen_ai.output.messages" not in recorded
    assert "gen_ai.system_instructions" not in recorded
    everything = "\n".join([*recorded, caplog.text])
    assert SECRET_KEY not in everything
    for word in CONTENT_WORDS:
        assert word not in everything, word
    # The telemetry was there to search.
    assert "threadline.send" in recorded
    assert "threadline.send" in caplog.text


def chat_spans(telemetry: TelemetryCapture) -> list[dict[str, Any]]:
    return [dict(s.attributes or {}) for s in telemetry.spans("chat echo-1")]


@pytest.mark.parametrize("setting", ["true", "True", "SPAN_ONLY", "span_and_event"])
def test_content_on_spans_when_asked(
    telemetry: TelemetryCapture, monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    """In native mode each call records what it sends (the new input once the server
    holds the rest) and what came back, in the conventions' message shape."""
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", setting)
    converse(telemetry)
    first, second, third = chat_spans(telemetry)
    system = [{"type": "text", "content": "Be terse."}]
    for attributes in (first, second, third):
        assert json.loads(attributes["gen_ai.system_instructions"]) == system

    assert json.loads(first["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "hello zanzibar"}]}
    ]
    assert json.loads(first["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "echo: hello zanzibar"}],
            "finish_reason": "stop",
        }
    ]
    (output,) = json.loads(second["gen_ai.output.messages"])
    (call,) = output["parts"]
    assert output["finish_reason"] == "tool_call"
    assert call["type"] == "tool_call"
    assert (call["name"], call["arguments"]) == ("lookup", {"animal": "quokka"})
    assert call["id"].startswith("call_")
    assert json.loads(third["gen_ai.input.messages"]) == [
        {
            "role": "tool",
            "parts": [
                {"type": "tool_call_response", "id": call["id"], "response": {"found": "quokka"}}
            ],
        }
    ]
    events = [e.name for s in telemetry.spans("chat echo-1") for e in s.events]
    wants_event = setting.upper() == "SPAN_AND_EVENT"
    assert ("gen_ai.client.inference.operation.details" in events) is wants_event


def test_local_mode_records_the_whole_history(
    telemetry: TelemetryCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Local mode sends the mirrored history every turn, so that is what is recorded."""
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
    converse(telemetry, mode="local")
    third = chat_spans(telemetry)[2]
    roles = [m["role"] for m in json.loads(third["gen_ai.input.messages"])]
    assert roles == ["user", "assistant", "user", "assistant", "tool"]


def test_content_on_an_event_only(
    telemetry: TelemetryCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EVENT_ONLY: one details event per call holds all three, the span attributes none."""
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "EVENT_ONLY")
    converse(telemetry)
    for span in telemetry.spans("chat echo-1"):
        assert "gen_ai.input.messages" not in (span.attributes or {})
        (details,) = [e for e in span.events if e.name.startswith("gen_ai.")]
        assert details.name == "gen_ai.client.inference.operation.details"
        assert set(details.attributes or {}) == {
            "gen_ai.input.messages",
            "gen_ai.output.messages",
            "gen_ai.system_instructions",
        }
    first = telemetry.spans("chat echo-1")[0].events[-1].attributes or {}
    assert "zanzibar" in str(first["gen_ai.input.messages"])


@pytest.mark.parametrize("setting", ["", "false", "NO_CONTENT", "yes please"])
def test_anything_else_keeps_content_off(
    telemetry: TelemetryCapture, monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    """Only the documented values switch capture on."""
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", setting)
    converse(telemetry)
    assert not any("zanzibar" in v for v in telemetry.values())


def test_content_never_on_lifecycle_spans_or_metrics(
    telemetry: TelemetryCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even when captured, content stays on the model call: not on threadline.* spans."""
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_AND_EVENT")
    monkeypatch.setenv("OPENAI_API_KEY", SECRET_KEY)
    converse(telemetry)
    assert SECRET_KEY not in "\n".join(telemetry.values())
    for span in telemetry.spans():
        if span.name.startswith("threadline."):
            assert "zanzibar" not in json.dumps(dict(span.attributes or {}))
