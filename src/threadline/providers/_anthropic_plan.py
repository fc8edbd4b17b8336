"""What one Anthropic turn sends, and what its reply leaves behind: pure decisions.

Both engine faces share this module; it does no I/O, so every rule is tested on
`TurnRequest` literals. A turn is one of four kinds:

- ``continue``: the thread holds exactly the mirror (``synced_count``), and its
  fingerprint (model, system, tools) is unchanged: only this turn's input goes, with
  ``thread={"type": "continue", "previous_message_id": <last reply id>}`` and no
  ``system``/``tools`` (the server takes those from the thread and rejects repeats).
- ``create``: anything else in native mode (first turn, restore, fork, hand-off, a
  changed fingerprint, a refusal or a thread error): a new thread, seeded with the
  whole mirror, ``system`` and ``tools``.
- ``unthreaded``: the server cannot thread this request (``thread_unsupported_request``):
  the whole mirror without ``thread``, prompt-cached like local mode.
- ``local``: ``mode="local"``: the whole mirror every turn, with a top-level
  ``cache_control`` so the history prefix is written to the prompt cache once and read
  back on later turns.

`NativeState.data` records ``kind`` (``thread`` or ``unthreaded``), the
``fingerprint``, and, when the next turn must start a new thread although the mirror
did not change, ``reseed`` (why).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import ContextWindowExceededError, ValidationError
from . import _anthropic_wire as wire
from .base import NativeState, TurnRequest, TurnResult

__all__ = ["Decision", "Plan", "after_rejection", "build", "decide", "fingerprint", "result"]

logger = logging.getLogger("threadline.providers.anthropic")

Kind = Literal["create", "continue", "unthreaded", "local"]
_RESERVED = frozenset({"messages", "model", "stream", "system", "thread", "tools"})
# Request fields a ``thread_unsupported_request`` may name; any other name in its list
# (``hipaa``, ``inference_hooks``: organisation settings) holds for every request.
_FIELD_FEATURES = frozenset({"cache_control", "context_management", "fallbacks", "thinking"})
_CACHE = {"type": "ephemeral"}


@dataclass(slots=True)
class Decision:
    """Which kind of call a turn makes, and why; decided without reading the history."""

    kind: Kind
    fingerprint: str
    reason: str | None = None
    """For ``create`` and ``unthreaded``: why (the span event's ``reason``/``source``)."""
    unsupported: tuple[str, ...] = ()
    """For ``unthreaded``: what the server said it cannot thread."""

    @property
    def needs_history(self) -> bool:
        """Every kind but ``continue`` sends the whole mirror."""
        return self.kind != "continue"


@dataclass(slots=True)
class Plan:
    """One ``beta.messages.create`` call."""

    decision: Decision
    kwargs: dict[str, Any]

    @property
    def kind(self) -> Kind:
        return self.decision.kind


def fingerprint(request: TurnRequest) -> str:
    """What a thread fixes at creation: model, system prompt and tools (a short hash)."""
    fixed = {
        "model": request.model,
        "system": request.system,
        "tools": wire.tool_params(request.tools),
    }
    encoded = json.dumps(fixed, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]


def _base(request: TurnRequest, max_tokens: int | None) -> dict[str, Any]:
    options = dict(request.options)
    reserved = sorted(_RESERVED & options.keys())
    if reserved:
        raise ValidationError(f"threadline sets {', '.join(reserved)} itself: remove it")
    turn_max = options.pop("max_tokens", None)
    return {
        "model": request.model,
        "max_tokens": turn_max or max_tokens or wire.default_max_tokens(request.model),
        **options,
    }


def _still_unsupported(unsupported: Sequence[str], options: Mapping[str, Any]) -> bool:
    if not unsupported or not set(unsupported) <= _FIELD_FEATURES:
        return True
    return any(options.get(name) is not None for name in unsupported)


def decide(request: TurnRequest) -> Decision:
    """The kind of call this turn makes. Reads no history: a ``continue`` needs none."""
    fp = fingerprint(request)
    if request.mode == "local":
        return Decision("local", fp)
    native = request.native_for(wire.PROVIDER)
    if native is None:
        return Decision("create", fp, "stale")
    data = native.data
    if data.get("fingerprint") != fp:
        return Decision("create", fp, "changed")
    if data.get("kind") == "unthreaded":
        unsupported = tuple(data.get("unsupported") or ())
        if _still_unsupported(unsupported, request.options):
            return Decision("unthreaded", fp, "remembered", unsupported)
        return Decision("create", fp, "unthreaded")
    if native.handle and not data.get("reseed"):
        return Decision("continue", fp)
    return Decision("create", fp, str(data.get("reseed") or "stale"))


def after_rejection(
    request: TurnRequest,
    plan: Plan,
    *,
    reseed_code: str | None,
    unsupported: Sequence[str] | None,
) -> Decision | None:
    """What to send instead after the server rejected ``plan``, or None (give up).

    A thread it cannot continue (``reseed_code``) is replaced by a new one seeded from
    the mirror; ``request.native`` then says so, so that a retry of this turn does not
    try the old thread again. A request it cannot thread goes unthreaded.
    """
    fp = plan.decision.fingerprint
    if plan.kind == "continue" and reseed_code is not None:
        request.native = NativeState(
            provider=wire.PROVIDER,
            synced_count=request.history_count,
            data={"kind": "thread", "fingerprint": fp, "reseed": reseed_code},
        )
        return Decision("create", fp, reseed_code)
    if plan.kind in ("continue", "create") and unsupported is not None:
        return Decision("unthreaded", fp, "rejected", tuple(unsupported))
    return None


def build(request: TurnRequest, decision: Decision, *, max_tokens: int | None = None) -> Plan:
    """The call for ``decision`` (``max_tokens``: the provider's setting, if any).

    Every kind but ``continue`` reads ``request.history``: load it first. A re-seed or
    an unthreaded turn is reported through ``request.hooks``.
    """
    kwargs = _base(request, max_tokens)
    if decision.kind == "continue":
        assert request.native is not None and request.native.handle is not None
        kwargs["messages"] = wire.message_params([request.input])
        thread = {"type": "continue", "previous_message_id": request.native.handle}
        return Plan(decision, _threaded(kwargs, thread))
    history = request.history
    kwargs["messages"] = wire.message_params([*history, request.input])
    if request.system:
        kwargs["system"] = request.system
    if request.tools:
        kwargs["tools"] = wire.tool_params(request.tools)
    if decision.kind == "create":
        if history:
            request.hooks.event(
                "threadline.native.reseed", reason=decision.reason, items=len(history)
            )
            logger.debug(
                "re-seeding a thread from the mirror: session=%s reason=%s messages=%d",
                request.session_id,
                decision.reason,
                len(history),
            )
        return Plan(decision, _threaded(kwargs, {"type": "create"}))
    if decision.kind == "unthreaded":
        request.hooks.event(
            "threadline.native.unthreaded",
            unsupported=",".join(decision.unsupported) or "unknown",
            source=str(decision.reason),
            items=len(history),
        )
    kwargs.setdefault("cache_control", _CACHE)
    return Plan(decision, kwargs)


def _threaded(kwargs: dict[str, Any], thread: dict[str, str]) -> dict[str, Any]:
    betas = list(kwargs.get("betas") or ())
    if wire.THREADS_BETA not in betas:
        betas.append(wire.THREADS_BETA)
    kwargs.update(betas=betas, thread=thread)
    return kwargs


def _fell_back(message: Mapping[str, Any]) -> bool:
    iterations = (message.get("usage") or {}).get("iterations") or ()
    return any(item.get("type") == "fallback_message" for item in iterations)


def _native(request: TurnRequest, plan: Plan, message: Mapping[str, Any]) -> NativeState | None:
    synced = request.history_count + 2
    if plan.kind == "local":
        return None
    if plan.kind == "unthreaded":
        data: dict[str, Any] = {
            "kind": "unthreaded",
            "fingerprint": plan.decision.fingerprint,
            "unsupported": list(plan.decision.unsupported),
        }
        return NativeState(provider=wire.PROVIDER, synced_count=synced, data=data)
    data = {"kind": "thread", "fingerprint": plan.decision.fingerprint}
    # The server keeps no continuable state after a refusal or a fallback model's
    # reply (the SDK's thread helper starts a new thread then, too).
    if message.get("stop_reason") == "refusal":
        data["reseed"] = "refusal"
    elif _fell_back(message):
        data["reseed"] = "fallback_message"
    else:
        return NativeState(
            provider=wire.PROVIDER, handle=str(message["id"]), synced_count=synced, data=data
        )
    return NativeState(provider=wire.PROVIDER, synced_count=synced, data=data)


def result(request: TurnRequest, plan: Plan, message: Mapping[str, Any]) -> TurnResult:
    """The turn from a reply's JSON. Raises KeyError/TypeError/ValueError on a reply of
    the wrong shape, and `ContextWindowExceededError` for a reply cut by the window."""
    if message.get("type") != "message" or not isinstance(message.get("id"), str):
        raise ValueError("the reply is not a message with an id")
    stop_reason = message.get("stop_reason")
    if stop_reason == "model_context_window_exceeded":
        raise ContextWindowExceededError(
            "the conversation no longer fits the model's context window",
            provider=wire.PROVIDER,
            ambiguous=plan.kind in ("create", "continue"),
        )
    usage = wire.usage_from(message.get("usage"))
    reply = wire.reply_from_message(message, usage)
    return TurnResult(
        output=[reply],
        usage=usage,
        native=_native(request, plan, message),
        response_id=message["id"],
        response_model=message.get("model"),
        finish_reasons=wire.finish_reasons(stop_reason),
    )
