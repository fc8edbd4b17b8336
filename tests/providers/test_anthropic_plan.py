"""Which call an Anthropic turn makes, decided on `TurnRequest` literals (no I/O)."""

from __future__ import annotations

from typing import Any

import pytest

import threadline as tl
from threadline.providers import _anthropic_plan as plans
from threadline.providers.anthropic import AnthropicProvider
from threadline.providers.base import NativeState, TurnRequest

HISTORY = [tl.Message.user("a"), tl.Message.assistant("re: a", provider_id="msg_1")]


def _request(native: NativeState | None = None, **fields: Any) -> TurnRequest:
    fields.setdefault("mode", "native")
    fields.setdefault("system", "sys")
    return TurnRequest.with_history(
        HISTORY,
        session_id="ses_1",
        model=fields.pop("model", "claude-sonnet-5-5"),
        input=tl.Message.user("b"),
        native=native,
        **fields,
    )


def _thread(request: TurnRequest, **data: Any) -> NativeState:
    data = {"kind": "thread", "fingerprint": plans.fingerprint(request), **data}
    return NativeState(provider="anthropic", handle="msg_1", synced_count=2, data=data)


def test_a_current_thread_is_continued() -> None:
    request = _request()
    request.native = _thread(request)
    decision = plans.decide(request)
    assert (decision.kind, decision.reason, decision.needs_history) == ("continue", None, False)


def test_a_continue_never_reads_the_history() -> None:
    """The core loads no history for a current native turn: building the continue must
    not need it (an unloaded history raises on access)."""
    request = TurnRequest(
        session_id="ses_1",
        model="claude-sonnet-5-5",
        system="sys",
        mode="native",
        history_count=2,
        input=tl.Message.user("b"),
    )
    request.native = _thread(request)
    plan = plans.build(request, plans.decide(request))
    assert plan.kwargs["messages"] == [{"role": "user", "content": "b"}]
    assert plan.kwargs["thread"] == {"type": "continue", "previous_message_id": "msg_1"}
    assert "system" not in plan.kwargs and "tools" not in plan.kwargs


@pytest.mark.parametrize(
    ("native", "reason"),
    [
        (None, "stale"),
        (NativeState(provider="openai", handle="conv_1", synced_count=2), "stale"),
        (NativeState(provider="anthropic", handle="msg_1", synced_count=6), "stale"),
        (NativeState(provider="anthropic", handle="msg_1", synced_count=2), "changed"),
    ],
)
def test_state_that_does_not_match_the_mirror_creates_a_thread(
    native: NativeState | None, reason: str
) -> None:
    """No state, another provider's, a different message count (restore, fork,
    hand-off) or another fingerprint: a new thread, and the reason says which."""
    decision = plans.decide(_request(native))
    assert (decision.kind, decision.reason) == ("create", reason)


def test_a_reseed_marker_creates_a_thread_with_its_reason() -> None:
    request = _request()
    request.native = _thread(request, reseed="refusal").model_copy(update={"handle": None})
    assert plans.decide(request).reason == "refusal"


def test_the_fingerprint_covers_model_system_and_tools_only() -> None:
    base = plans.fingerprint(_request())
    assert plans.fingerprint(_request(options={"max_tokens": 5})) == base
    assert plans.fingerprint(_request(model="claude-opus-5-5")) != base
    assert plans.fingerprint(_request(system="other")) != base
    assert plans.fingerprint(_request(tools=[tl.Tool(name="t")])) != base


def test_local_mode_builds_a_cached_full_request_and_keeps_no_state() -> None:
    request = _request(mode="local")
    plan = plans.build(request, plans.decide(request))
    assert plan.kind == "local"
    assert plan.kwargs == {
        "model": "claude-sonnet-5-5",
        "max_tokens": 16_384,
        "messages": [
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": "re: a"},
            {"role": "user", "content": "b"},
        ],
        "system": "sys",
        "cache_control": {"type": "ephemeral"},
    }
    message = {"id": "msg_2", "type": "message", "content": [], "stop_reason": "end_turn"}
    assert plans.result(request, plan, message).native is None


def test_a_caller_cache_control_wins_over_the_default() -> None:
    request = _request(mode="local", options={"cache_control": {"type": "ephemeral", "ttl": "1h"}})
    plan = plans.build(request, plans.decide(request))
    assert plan.kwargs["cache_control"] == {"type": "ephemeral", "ttl": "1h"}


def test_only_a_continue_recovers_from_thread_errors() -> None:
    """A create has no thread to lose; an unthreaded or local request nothing to drop."""
    request = _request()
    request.native = _thread(request)
    plan = plans.build(request, plans.decide(request))
    instead = plans.after_rejection(request, plan, reseed_code="thread_not_found", unsupported=None)
    assert instead is not None and (instead.kind, instead.reason) == ("create", "thread_not_found")
    assert request.native is not None and request.native.handle is None
    assert request.native.data["reseed"] == "thread_not_found"
    created = plans.build(request, instead)
    assert (
        plans.after_rejection(request, created, reseed_code="thread_not_found", unsupported=None)
        is None
    )
    unthreaded = plans.after_rejection(request, created, reseed_code=None, unsupported=["thinking"])
    assert unthreaded is not None and unthreaded.unsupported == ("thinking",)
    sent = plans.build(request, unthreaded)
    assert plans.after_rejection(request, sent, reseed_code=None, unsupported=["x"]) is None


@pytest.mark.parametrize(
    "message",
    [
        {"type": "message", "content": []},
        {"type": "error", "id": "x"},
        {"id": 3, "type": "message"},
    ],
)
def test_a_reply_without_a_message_id_is_refused(message: dict[str, Any]) -> None:
    request = _request()
    plan = plans.build(request, plans.decide(request))
    with pytest.raises(ValueError, match="not a message"):
        plans.result(request, plan, message)


def test_the_provider_validates_its_options() -> None:
    with pytest.raises(tl.ValidationError, match="native"):
        AnthropicProvider(native="conversations")  # type: ignore[arg-type]
    for bad in (0, -1, True, 2.5):
        with pytest.raises(tl.ValidationError, match="max_tokens"):
            AnthropicProvider(max_tokens=bad)  # type: ignore[arg-type]
    provider = AnthropicProvider(max_tokens=10)
    assert (provider.name, provider.system_name, provider.default_model) == (
        "anthropic",
        "anthropic",
        "claude-sonnet-5-5",
    )
    assert provider.capabilities.native_state and not provider.capabilities.delete_native
