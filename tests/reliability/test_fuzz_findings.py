"""Defects the reliability suite found, each pinned by a focused test.

Every test here failed before its fix. The fuzz (`test_fuzz_api.py`) found each
defect, or a neighbour of one it found; the test holds the smallest input that shows
it, on both built-in stores.
"""

from __future__ import annotations

import inspect
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import threadline as tl
from threadline.providers import EchoProvider


@pytest.fixture(params=["memory", "sqlite"])
def manager(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tl.SessionManager]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'found.db'}"
    with tl.SessionManager(url) as manager:
        yield manager


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"k": value}
    return value


@pytest.mark.parametrize(
    ("tool", "match"),
    [
        (tl.Tool(name="bad \ud800"), "tool name is not valid Unicode"),
        (tl.Tool(name="lookup", description="bad \udfff"), "tool description is not valid"),
        (tl.Tool(name="lookup", parameters=nested(256)), "nested deeper than 64"),
        (tl.Tool(name="lookup", parameters={"type": {"object"}}), "must be JSON"),
        ({"name": "lookup", "parameters": {"x": b"bytes"}}, "must be JSON"),
    ],
)
def test_tool_definitions_are_checked_before_they_are_stored_or_sent(
    manager: tl.SessionManager, tool: Any, match: str
) -> None:
    """A tool whose name or description holds a lone surrogate, or whose parameters
    are nested 256 deep or hold a value that is not JSON, was accepted: memory://
    stored a session that could then not be exported, SQLite raised pydantic's
    PydanticSerializationError, and a turn would have sent it to the provider."""
    with pytest.raises(tl.ValidationError, match=match):
        manager.create(tools=[tool])
    assert manager.list() == []
    session = manager.create()
    with pytest.raises(tl.ValidationError, match=match):
        session.send("hello", tools=[tool])
    assert manager.get(session.id).version == 1
    assert manager.get(session.id).messages == []


def _answerable(manager: tl.SessionManager) -> tuple[tl.ConversationSession, str]:
    """A session whose last reply asks for one tool call, and that call's id."""
    session = manager.create(tools=[tl.Tool(name="lookup")])
    session.send("/tool lookup {}")
    return session, session.messages[-1].tool_calls[0].call_id


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ([tl.ToolCallPart(call_id="c", name="n", arguments=nested(220))], "nested deeper"),
        (tl.Message(role="user", parts=[tl.TextPart(text="hi")], metadata=nested(220)), "nested"),
        ([tl.ProviderPart(provider="echo", kind="x", data=nested(220))], "nested deeper"),
    ],
)
def test_values_nested_too_deep_to_read_back_are_refused(
    manager: tl.SessionManager, content: Any, match: str
) -> None:
    """A message holding a value nested about 200 to 250 levels deep was stored
    (pydantic writes JSON deeper than it reads back), after which SQLite could not
    read the session's history at all: StoreError, "corrupt message row"."""
    session = manager.create()
    session.send("before")
    with pytest.raises(tl.ValidationError, match=match):
        session.send(content)
    again = manager.get(session.id)
    assert [m.text for m in again.messages] == ["before", "echo: before"]
    assert again.version == session.version


def test_a_tool_result_output_must_be_json(manager: tl.SessionManager) -> None:
    """An output pydantic can write but JSON cannot hold (a set) got as far as the
    provider, which raised TypeError from json.dumps; the failed turn then dropped
    the session's server-side state: a failed call that changed the store."""
    session, call_id = _answerable(manager)
    version = session.version
    for output in ({1, 2}, {"when": b"bytes"}, nested(220)):
        with pytest.raises(tl.ValidationError, match="tool result output"):
            session.send(tl.ToolResult(call_id=call_id, output=output))
    assert manager.get(session.id).version == version
    assert manager.get(session.id).native_id == session.native_id is not None
    reply = session.send(tl.ToolResult(call_id=call_id, output={"found": [1, 2]}))
    assert reply.text == 'echo: lookup returned {"found": [1, 2]}'


def test_a_reply_too_deep_to_store_is_an_ambiguous_provider_error(
    manager: tl.SessionManager,
) -> None:
    """A reply whose tool call arguments were nested 220 deep was stored and made the
    SQLite session unreadable. A reply that cannot be stored is now an unreadable
    reply: an ambiguous ProviderError, nothing mirrored, server-side copy dropped."""
    session = manager.create(tools=[tl.Tool(name="lookup")])
    session.send("first")
    assert session.native_id is not None
    deep = '{"k":' * 220 + "1" + "}" * 220
    with pytest.raises(tl.ProviderError, match="reply cannot be stored") as info:
        session.send(f"/tool lookup {deep}")
    assert info.value.ambiguous
    again = manager.get(session.id)
    assert [m.text for m in again.messages] == ["first", "echo: first"]
    assert again.native_id is None  # the next turn re-seeds
    assert again.send("next").text == "echo: next"


def test_echo_reads_tool_arguments_too_deep_for_json_as_text(manager: tl.SessionManager) -> None:
    """``/tool NAME`` with arguments nested 1,500 deep made the echo provider raise
    RecursionError from json.loads; like any other text that is not JSON, they are
    passed on as ``{"input": text}``."""
    session = manager.create(tools=[tl.Tool(name="lookup")])
    raw = '{"k":' * 1500 + "1" + "}" * 1500
    reply = session.send(f"/tool lookup {raw}")
    assert reply.tool_calls[0].arguments == {"input": raw}


def test_an_import_holding_values_too_deep_to_read_back_is_refused(
    manager: tl.SessionManager,
) -> None:
    """The same depth through import_session: an export document whose tool call
    arguments were nested 220 deep was imported, and the SQLite copy was unreadable."""
    session = manager.create(tools=[tl.Tool(name="lookup")])
    session.send('/tool lookup {"q": 1}')
    document = session.export()
    document["messages"][1]["parts"][0]["arguments"] = nested(220)
    with pytest.raises(tl.ValidationError, match="tool call arguments is nested deeper than 64"):
        manager.import_session(document)
    assert [i.id for i in manager.list()] == [session.id]


def test_a_handle_whose_history_was_cut_back_or_deleted_cannot_copy_it(
    manager: tl.SessionManager,
) -> None:
    """A handle reads its history lazily. When another handle had meanwhile restored
    the session to an earlier checkpoint, or deleted it, ``fork()`` made a child with
    fewer messages than its checkpoints point at (a restore of it would then have
    counted messages that do not exist), and ``export()`` wrote a document that
    ``import_session`` refuses. Now the handle is told it is stale."""
    session = manager.create()
    session.send("one")
    session.checkpoint("a")
    session.send("two")
    session.checkpoint("b")
    stale = manager.get(session.id)
    session.restore("a")
    for call in (stale.fork, stale.export, lambda: stale.messages):
        with pytest.raises(tl.ConcurrencyError, match=f"^session '{session.id}' changed since"):
            call()
    stale.refresh()
    assert [m.text for m in stale.fork().messages] == ["one", "echo: one"]
    gone = manager.get(session.id)
    session.delete()
    for call in (gone.fork, gone.export, lambda: gone.messages):
        with pytest.raises(tl.SessionNotFoundError, match=f"^session '{session.id}' not found$"):
            call()
    assert len(manager.list()) == 1  # the good fork only


EDGE_OF_TIME = [
    datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))),
    datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=5))),
]


@pytest.mark.parametrize("when", EDGE_OF_TIME)
def test_a_timestamp_that_leaves_the_calendar_in_utc_is_refused(
    manager: tl.SessionManager, when: datetime
) -> None:
    """A message or checkpoint dated at the calendar's edge in a time zone that pushes
    it past year 9999 (or before year 1) in UTC raised OverflowError from send() and
    from import_session()."""
    session = manager.create()
    message = tl.Message(role="user", parts=[tl.TextPart(text="hi")], created_at=when)
    with pytest.raises(tl.ValidationError, match="out of range"):
        session.send(message)
    assert manager.get(session.id).version == 1
    session.send("hello")
    session.checkpoint("cp")
    for where in ("message", "checkpoint"):
        document = session.export()
        if where == "message":
            document["messages"][0]["created_at"] = when.isoformat()
        else:
            document["session"]["checkpoints"][0]["created_at"] = when.isoformat()
        with pytest.raises(tl.ValidationError, match="out of range"):
            manager.import_session(document)
    assert [i.id for i in manager.list()] == [session.id]


def test_echo_survives_its_conversation_being_deleted_while_a_turn_runs_on_it() -> None:
    """Found by the concurrency test (threads with their own handles on one session):
    a thread that lost a commit race deleted the echo server's conversation while
    another thread's turn was running on it, and that turn raised KeyError from the
    simulated server. This test makes that interleaving happen every time: when the
    turn reaches the line that reads the conversation's word count, another thread
    deletes the conversation (and is given half a second to finish). A real server
    finishes the turn or says the conversation is gone, and so does echo now."""
    echo = EchoProvider()
    with tl.SessionManager("memory://", providers=[echo]) as manager:
        session = manager.create()
        session.send("one")
        native = session._record.native
        assert native is not None and native.handle in echo.conversations
        engine = manager.provider("echo").sync_engine()
        lines, first = inspect.getsourcelines(EchoProvider._run)
        target = first + next(
            i for i, line in enumerate(lines) if "context_words = self._words_held" in line
        )
        deleters: list[threading.Thread] = []

        def trace(frame: Any, event: str, arg: Any) -> Any:
            if event == "call":
                return trace if frame.f_code is EchoProvider._run.__code__ else None
            if event == "line" and frame.f_lineno == target and not deleters:
                deleter = threading.Thread(target=engine.delete_native, args=(native,))
                deleters.append(deleter)
                deleter.start()
                deleter.join(0.5)
            return trace

        sys.settrace(trace)
        try:
            reply = session.send("two")
        finally:
            sys.settrace(None)
            for deleter in deleters:
                deleter.join()
        assert deleters, "the turn never reached the line the deletion races with"
        assert reply.text == "echo: two"
        assert native.handle not in echo.conversations  # deleted once the turn was done
        assert session.send("three").text == "echo: three"  # re-seeded
        assert [m.text for m in manager.get(session.id).messages] == [
            "one",
            "echo: one",
            "two",
            "echo: two",
            "three",
            "echo: three",
        ]
