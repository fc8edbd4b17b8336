"""What `create()`, `import_session()` and `get()` hand back, refuse and report (async face).

A created session holds exactly what it was given (or the documented defaults), with one
timestamp for its creation and last write; bad text is refused with a message naming
the argument, before anything is written. An import gets a fresh ``ses_`` id (or keeps
a valid one), restarts its clock, and holds the history it was given (that ``get()``
keeps the record packed until used is bounded in test_contract_session_core). Each
call has its ``threadline.<op>`` span with its ``threadline.store.*`` event; a failed
``get`` still names the session.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import threadline as tl
from threadline.testing import TelemetryCapture, capture_telemetry

LONE = "bad \ud800 text"
ID_RULE = (
    r"may only hold letters, digits and _ \. : @ \+ = - \(starting with a letter or digit,"
    r" no '\.\.'\)"
)
TOOL = tl.Tool(
    name="lookup",
    description="find a thing",
    parameters={"type": "object", "properties": {"q": {"type": "string"}}},
)


@pytest.fixture
def telemetry() -> Iterator[TelemetryCapture]:
    capture = capture_telemetry()
    yield capture
    capture.shutdown()


def event_names(telemetry: TelemetryCapture, span: str) -> list[str]:
    return [e.name for e in telemetry.span(span).events]


# -- create ----------------------------------------------------------------------------


async def test_a_created_session_holds_what_it_was_given(
    amanager: tl.AsyncSessionManager, move_clock: Any
) -> None:
    move_clock(timedelta(days=3))  # threadline's clock, not the wall clock
    before = datetime.now(UTC) + timedelta(days=3)
    session = await amanager.create(
        "echo",
        "echo-2",
        user="ann",
        system="Be brief.",
        metadata={"k": [1, 2]},
        ttl=timedelta(minutes=5),
        mode="local",
        tools=[TOOL],
    )
    assert session.id.startswith("ses_")
    assert (session.user, session.provider, session.model, session.system) == (
        "ann",
        "echo",
        "echo-2",
        "Be brief.",
    )
    assert (session.mode, session.status) == ("local", tl.SessionStatus.ACTIVE)
    assert session.metadata == {"k": [1, 2]}
    assert session.tools == [TOOL]
    # One instant of threadline's clock: created, last written, and the TTL from there.
    assert session.created_at >= before
    assert session.updated_at == session.created_at
    assert session.expires_at == session.created_at + timedelta(minutes=5)
    stored = await amanager.get(session.id, user="ann")
    assert (stored.created_at, stored.updated_at, stored.expires_at) == (
        session.created_at,
        session.created_at,
        session.expires_at,
    )
    assert (stored.system, stored.model, stored.tools) == ("Be brief.", "echo-2", [TOOL])


async def test_create_defaults(amanager: tl.AsyncSessionManager, move_clock: Any) -> None:
    move_clock(timedelta(days=1))
    session = await amanager.create()
    assert session.id.startswith("ses_")
    assert (session.user, session.provider, session.system) == (None, "echo", None)
    assert session.mode == "native"  # echo keeps server-side state
    assert session.metadata == {} and session.tools == []
    assert session.expires_at is None
    assert session.updated_at == session.created_at


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"provider": 7}, TypeError, r"^provider must be a str, not int$"),
        ({"provider": None}, TypeError, r"^provider must be a str, not NoneType$"),
        ({"model": 7}, TypeError, r"^model must be a str or None, not int$"),
        (
            {"model": LONE},
            tl.ValidationError,
            r"^model is not valid Unicode text \(it holds a lone surrogate\)$",
        ),
        ({"system": 7}, TypeError, r"^system must be a str or None, not int$"),
        (
            {"system": LONE},
            tl.ValidationError,
            r"^system is not valid Unicode text \(it holds a lone surrogate\)$",
        ),
    ],
    ids=["provider-int", "provider-none", "model-int", "model-lone", "system-int", "system-lone"],
)
async def test_create_refuses_bad_text_naming_the_argument(
    amanager: tl.AsyncSessionManager,
    kwargs: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        await amanager.create(**kwargs)
    assert await amanager.list() == []  # nothing was written


async def test_create_reports_its_span_and_store_event(telemetry: TelemetryCapture) -> None:
    async with tl.AsyncSessionManager("memory://", **telemetry.manager_options) as manager:
        session = await manager.create()
    span = telemetry.span("threadline.create")
    assert span.attributes is not None
    assert span.attributes["gen_ai.conversation.id"] == session.id
    assert event_names(telemetry, "threadline.create") == ["threadline.store.create"]


# -- import ----------------------------------------------------------------------------


async def exported(manager: tl.AsyncSessionManager) -> dict[str, Any]:
    session = await manager.create(
        user="ann", system="Be brief.", metadata={"k": "v"}, ttl=timedelta(hours=1)
    )
    await session.send("one")
    return await session.export()


async def test_an_import_gets_a_new_id_and_restarts_its_clock(
    amanager: tl.AsyncSessionManager, move_clock: Any
) -> None:
    data = await exported(amanager)
    move_clock(timedelta(days=2))
    before = datetime.now(UTC) + timedelta(days=2)
    copy = await amanager.import_session(data)
    assert copy.id.startswith("ses_") and copy.id != data["session"]["id"]
    assert copy.user == "ann"
    assert copy.created_at >= before
    assert copy.updated_at == copy.created_at
    assert copy.expires_at == copy.created_at + timedelta(hours=1)
    stored = await amanager.get(copy.id)
    assert (stored.created_at, stored.updated_at) == (copy.created_at, copy.created_at)


async def test_an_import_with_keep_id_refuses_an_invalid_id(
    amanager: tl.AsyncSessionManager,
) -> None:
    data = await exported(amanager)
    data["session"]["id"] = "no spaces"
    with pytest.raises(tl.ValidationError, match=rf"^session id 'no spaces' {ID_RULE}$"):
        await amanager.import_session(data, keep_id=True)
    copy = await amanager.import_session(data)  # a new id: the old one does not matter
    assert copy.id.startswith("ses_")


async def test_an_imported_session_holds_the_history_it_was_given(
    amanager: tl.AsyncSessionManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import wrote the messages: reading them back needs no store query."""
    data = await exported(amanager)
    store = amanager.store
    real = store.read_messages
    reads: list[str] = []

    async def counting(session_id: str, *, after: int = 0, limit: int | None = None) -> Any:
        reads.append(session_id)
        return await real(session_id, after=after, limit=limit)

    monkeypatch.setattr(store, "read_messages", counting)
    copy = await amanager.import_session(data)
    assert [m.text for m in copy.messages] == ["one", "echo: one"]
    assert [m.text for m in await copy.load_messages()] == ["one", "echo: one"]
    assert reads == []


async def test_import_reports_its_span_and_store_event(telemetry: TelemetryCapture) -> None:
    async with tl.AsyncSessionManager("memory://", **telemetry.manager_options) as manager:
        data = await exported(manager)
        copy = await manager.import_session(data)
    span = telemetry.span("threadline.import")
    assert span.attributes is not None
    assert span.attributes["gen_ai.conversation.id"] == copy.id
    assert event_names(telemetry, "threadline.import") == ["threadline.store.create"]


# -- get -------------------------------------------------------------------------------


async def test_get_reports_its_span_and_store_event(telemetry: TelemetryCapture) -> None:
    async with tl.AsyncSessionManager("memory://", **telemetry.manager_options) as manager:
        session = await manager.create()
        await manager.get(session.id)
    span = telemetry.span("threadline.get")
    assert span.attributes is not None
    assert span.attributes["gen_ai.conversation.id"] == session.id
    assert event_names(telemetry, "threadline.get") == ["threadline.store.get"]


async def test_a_failed_get_span_still_names_the_session(telemetry: TelemetryCapture) -> None:
    async with tl.AsyncSessionManager("memory://", **telemetry.manager_options) as manager:
        with pytest.raises(tl.SessionNotFoundError, match="ses_missing") as caught:
            await manager.get("ses_missing")
    assert caught.value.session_id == "ses_missing"
    span = telemetry.span("threadline.get")
    assert span.attributes is not None
    assert span.attributes["gen_ai.conversation.id"] == "ses_missing"
    assert span.attributes["error.type"] == "session_not_found"
