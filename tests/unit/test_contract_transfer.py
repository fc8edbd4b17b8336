"""The export document (format version 1) and what an import refuses, message by message.

An export is plain JSON (it survives ``json.dumps``/``json.loads`` unchanged); an
import checks the whole document first and names exactly what is wrong, so every
refusal here is matched in full. Nothing is written for a refused document.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

import threadline as tl

LONE = "bad \ud800 text"
LABEL_RULE = (
    r"may only hold letters, digits and _ \. : @ \+ = - \(starting with a letter or digit,"
    r" no '\.\.'\)"
)


async def document(manager: tl.AsyncSessionManager) -> dict[str, Any]:
    session = await manager.create(user="ann", system="Be brief.", metadata={"k": [1, 2]})
    await session.checkpoint("start")
    await session.send("one")
    await session.checkpoint()
    return await session.export()


async def test_an_export_is_plain_json_and_imports_back_the_same(
    amanager: tl.AsyncSessionManager,
) -> None:
    data = await document(amanager)
    assert json.loads(json.dumps(data)) == data
    assert isinstance(data["session"]["created_at"], str)
    assert isinstance(data["messages"][0]["created_at"], str)
    copy = await amanager.import_session(json.loads(json.dumps(data)))
    again = await copy.export()
    assert again["messages"] == data["messages"]
    assert {
        k: v for k, v in again["session"].items() if k not in ("id", "created_at", "updated_at")
    } == {k: v for k, v in data["session"].items() if k not in ("id", "created_at", "updated_at")}


async def test_a_document_without_messages_imports_an_empty_session(
    amanager: tl.AsyncSessionManager,
) -> None:
    data = await document(amanager)
    del data["messages"]
    data["session"]["checkpoints"] = [
        {**data["session"]["checkpoints"][0], "message_count": 0, "label": None}
    ]
    copy = await amanager.import_session(data)
    assert await copy.load_messages() == []
    assert [(c.label, c.message_count) for c in copy.checkpoints] == [(None, 0)]


async def test_edge_values_a_document_may_hold(amanager: tl.AsyncSessionManager) -> None:
    data = await document(amanager)
    data["session"]["ttl_seconds"] = 0.5
    copy = await amanager.import_session(data)
    assert copy.expires_at == copy.created_at + timedelta(seconds=0.5)
    assert [c.message_count for c in copy.checkpoints] == [0, 2]


def _session(**changes: Any) -> Callable[[dict[str, Any]], None]:
    return lambda d: d["session"].update(changes)


REFUSED: list[tuple[str, Any, str]] = [
    (
        "not a dict",
        lambda d: [1, 2],
        r"^not a threadline export of format_version 1 \(found None\)$",
    ),
    (
        "newer format",
        lambda d: {**d, "format_version": 2},
        r"^not a threadline export of format_version 1 \(found 2\)$",
    ),
    (
        "no session",
        lambda d: {**d, "session": None},
        "^invalid export document: no session object$",
    ),
    (
        "messages not a list",
        lambda d: {**d, "messages": {"a": 1}},
        "^invalid export document: messages must be a list$",
    ),
    (
        "missing model",
        lambda d: d["session"].pop("model"),
        "^invalid export document: model: Field required$",
    ),
    (
        "bad message role",
        lambda d: d["messages"][1].update(role="narrator"),
        "^invalid export document: role: Input should be 'system', 'user', 'assistant' or 'tool'$",
    ),
    (
        "nested field",
        lambda d: d["session"]["checkpoints"][0].update(message_count="many"),
        "^invalid export document: checkpoints\\.0\\.message_count: Input should be a valid"
        " integer, unable to parse string as an integer$",
    ),
    (
        "expired",
        _session(status="expired"),
        "^invalid export document: 'expired' is not a stored status$",
    ),
    (
        "zero ttl",
        _session(ttl_seconds=0),
        "^invalid export document: ttl_seconds must be positive$",
    ),
    ("bad user", _session(user="a/b"), f"^user 'a/b' {LABEL_RULE}$"),
    ("bad parent", _session(parent_id="a/b"), f"^parent_id 'a/b' {LABEL_RULE}$"),
    (
        "provider",
        _session(provider=LONE),
        r"^provider is not valid Unicode text \(it holds a lone surrogate\)$",
    ),
    (
        "model",
        _session(model=LONE),
        r"^model is not valid Unicode text \(it holds a lone surrogate\)$",
    ),
    (
        "status_reason",
        _session(status_reason=LONE),
        r"^status_reason is not valid Unicode text \(it holds a lone surrogate\)$",
    ),
    (
        "checkpoint label",
        lambda d: d["session"]["checkpoints"][0].update(label=LONE),
        r"^checkpoint label is not valid Unicode text \(it holds a lone surrogate\)$",
    ),
    (
        "checkpoint past the end",
        lambda d: d["session"]["checkpoints"][0].update(message_count=3),
        r"^invalid export document: checkpoint 'cp_\w+' is at message 3 of 2$",
    ),
    (
        "message text",
        lambda d: d["messages"][0]["parts"][0].update(text=LONE),
        r"^invalid export document: message 'msg_\w+': the message cannot be stored: its text is"
        r" not valid Unicode, or a tool result's output is not JSON$",
    ),
]


@pytest.mark.parametrize(
    ("change", "complaint"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED]
)
async def test_a_bad_document_is_refused_with_exactly_what_is_wrong(
    amanager: tl.AsyncSessionManager, change: Any, complaint: str
) -> None:
    data = await document(amanager)
    replaced = change(data)
    if isinstance(replaced, dict | list):
        data = replaced  # type: ignore[assignment]
    before = [(i.id, i.message_count) for i in await amanager.list()]
    with pytest.raises(tl.ValidationError, match=complaint):
        await amanager.import_session(data)  # type: ignore[arg-type]
    assert [(i.id, i.message_count) for i in await amanager.list()] == before
