"""The wire side of `FakeGemini`: error bodies, SSE records, interaction stream events,
and the generateContent reply logic (camelCase, as the real API speaks it).

Kept apart from the fake's state so `_google_fake` reads as the server's rules.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from ._faults import dropped

__all__ = [
    "Json",
    "content_reply",
    "content_chunks",
    "cut",
    "error_response",
    "interaction_events",
    "normalize_input",
    "sse",
    "unanswered",
    "user_text",
]

Json = dict[str, Any]

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def error_response(
    status: int,
    message: str,
    error_status: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """A Google API error: ``{"error": {"code", "message", "status"}}``."""
    error = {
        "code": status,
        "message": message,
        "status": error_status or _STATUS_NAMES.get(status, "UNKNOWN"),
    }
    return httpx.Response(status, json={"error": error}, headers=headers or {})


def sse(events: list[Json]) -> bytes:
    """Server-sent events as Google sends them: ``data:`` lines only."""
    return "".join(f"data: {json.dumps(event)}\n\n" for event in events).encode()


def cut(events: list[Json], after: int) -> Iterator[bytes]:
    """A body that stops after ``after`` events with a dropped connection."""
    return dropped(sse(events[:after]))


def normalize_input(value: Any) -> list[Json]:
    """``input`` as the steps the server stores (a string or content blocks become one
    ``user_input`` step)."""
    if isinstance(value, str):
        return [{"type": "user_input", "content": [{"type": "text", "text": value}]}]
    if isinstance(value, dict):
        value = [value]
    if value and all(
        v.get("type") in ("text", "image", "audio", "video", "document") for v in value
    ):
        return [{"type": "user_input", "content": list(value)}]
    return list(value)


def user_text(step: Json) -> str:
    """The text of a ``user_input`` step (empty for anything else)."""
    if step.get("type") != "user_input":
        return ""
    return "".join(b.get("text", "") for b in step.get("content") or ())


def interaction_events(interaction: Json) -> list[Json]:
    """An interaction as its SSE events: created, each step (start, deltas, stop), a
    status update, completed (without steps: a client assembles them)."""
    head = {"id": interaction["id"], "model": interaction["model"]}
    events: list[Json] = [
        {"event_type": "interaction.created", "interaction": {**head, "status": "in_progress"}}
    ]
    for index, step in enumerate(interaction["steps"]):
        kind = step["type"]
        deltas: list[Json]
        if kind == "model_output":
            opening: Json = {"type": "model_output", "content": []}
            words = step["content"][0]["text"].split(" ")
            deltas = [
                {"type": "text", "text": w if i == 0 else f" {w}"} for i, w in enumerate(words)
            ]
        elif kind == "function_call":
            opening = {**step, "arguments": {}}
            raw = json.dumps(step["arguments"])
            deltas = [
                {"type": "arguments_delta", "arguments": raw[i : i + 7]}
                for i in range(0, len(raw), 7)
            ]
        else:  # thought
            opening = {"type": "thought"}
            deltas = [{"type": "thought_signature", "signature": step["signature"]}]
        events.append({"event_type": "step.start", "index": index, "step": opening})
        events += [{"event_type": "step.delta", "index": index, "delta": d} for d in deltas]
        events.append({"event_type": "step.stop", "index": index})
    status = interaction["status"]
    events.append(
        {"event_type": "interaction.status_update", "interaction_id": head["id"], "status": status}
    )
    closing = {k: v for k, v in interaction.items() if k != "steps"}
    events.append({"event_type": "interaction.completed", "interaction": closing})
    return events


def unanswered(held: list[Json], new_input: list[Json]) -> str | None:
    """The API's refusal when the chain's last calls are not all answered first."""
    pending = set()
    for step in reversed(held):
        if step["type"] != "function_call":
            break
        pending.add(step["id"])
    answered = {s["call_id"] for s in new_input if s["type"] == "function_result"}
    if pending and pending != answered:
        return f"function calls {sorted(pending)} need function_result steps"
    return None


def content_chunks(reply: Json) -> list[Json]:
    """A generateContent reply as stream chunks: one part (or word) per chunk, the
    finish reason and usage on the last."""
    candidate = reply["candidates"][0]
    pieces: list[Json] = []
    for part in candidate["content"]["parts"]:
        text = part.get("text")
        if text and not part.get("thought"):
            words = text.split(" ")
            pieces += [{"text": w if i == 0 else f" {w}"} for i, w in enumerate(words)]
            if "thoughtSignature" in part:
                pieces.append({"text": "", "thoughtSignature": part["thoughtSignature"]})
        else:
            pieces.append(part)
    chunks = [
        {"candidates": [{"content": {"role": "model", "parts": [p]}, "index": 0}]} for p in pieces
    ]
    chunks[-1]["candidates"][0]["finishReason"] = candidate["finishReason"]
    for chunk in chunks:
        chunk.update(responseId=reply["responseId"], modelVersion=reply["modelVersion"])
    chunks[-1]["usageMetadata"] = reply["usageMetadata"]
    return chunks


# -- generateContent ---------------------------------------------------------------------


def _problem(contents: list[Json], thinking: bool) -> str | None:
    """What the API refuses in ``contents``: unanswered calls; with thinking, a call
    of the current turn without its thought signature."""
    last_text = max(
        (i for i, c in enumerate(contents) if c["role"] == "user" and _texts(c)), default=-1
    )
    for i, content in enumerate(contents):
        calls = [p["functionCall"] for p in content["parts"] if "functionCall" in p]
        if content["role"] != "model" or not calls:
            continue
        following = contents[i + 1] if i + 1 < len(contents) else {"parts": []}
        answered = [
            p["functionResponse"]["name"] for p in following["parts"] if "functionResponse" in p
        ]
        if sorted(answered) != sorted(c["name"] for c in calls):
            return f"contents[{i + 1}]: each functionCall needs a functionResponse"
        first = next(p for p in content["parts"] if "functionCall" in p)
        if thinking and i > last_text and "thoughtSignature" not in first:
            return f"contents[{i}]: Function call is missing a thought_signature"
    return None


def _texts(content: Json) -> str:
    return "".join(p["text"] for p in content["parts"] if "text" in p and not p.get("thought"))


def content_reply(
    body: Json, model: str, response_id: str, thinking: bool, call_ids: bool
) -> Json | str:
    """The reply to a generateContent body, or the 400 message refusing it."""
    contents: list[Json] = body.get("contents") or []
    if not contents:
        return "contents must not be empty"
    problem = _problem(contents, thinking)
    if problem:
        return problem
    last = contents[-1]
    responses = [p["functionResponse"] for p in last["parts"] if "functionResponse" in p]
    declared = [d for t in body.get("tools") or () for d in t.get("functionDeclarations") or ()]
    offered = {d.get("name") for d in declared}
    parts: list[Json] = [{"text": "thinking it over", "thought": True}] if thinking else []
    text = _texts(last)
    name, _, raw = text.removeprefix("/tool ").partition(" ")
    if responses:
        response = responses[0]["response"]
        main: Json = {"text": f"tool said {response.get('output', response)}"}
    elif text.startswith("/tool ") and name in offered:
        call: Json = {"name": name, "args": json.loads(raw or "{}")}
        if call_ids:
            call["id"] = f"fc_{response_id}"
        main = {"functionCall": call}
    else:
        main = {"text": f"re: {text}"}
    if thinking:
        main["thoughtSignature"] = "c2lnbmF0dXJl"  # base64 "signature"
    parts.append(main)
    prompt = 10 * len(contents) + 10 * bool(body.get("systemInstruction"))
    usage = {"promptTokenCount": prompt, "candidatesTokenCount": 5}
    if thinking:
        usage["thoughtsTokenCount"] = 3
    usage["totalTokenCount"] = sum(usage.values())
    return {
        "candidates": [
            {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
        ],
        "usageMetadata": usage,
        "responseId": response_id,
        "modelVersion": model,
    }
