"""Bad input gets a clear, typed error and changes nothing (DESIGN §4).

Each test reproduces a defect found by probing or fuzzing the public API; it failed
before the fix. "Changes nothing" is checked against the store, not just the handle.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

import threadline as tl

LONE_SURROGATE = "bad \ud800 text"


def _snapshot(manager: tl.SessionManager) -> list[tuple[str, int, int]]:
    return [(i.id, i.message_count, len(i.metadata)) for i in manager.list(limit=1000)]


def _document(manager: tl.SessionManager) -> dict[str, Any]:
    s = manager.create(ttl=timedelta(hours=1))
    s.send("one")
    s.checkpoint("cp")
    s.send("two")
    return s.export()


# -- import ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d["session"]["checkpoints"][0].update(message_count=-1), "checkpoint"),
        (lambda d: d["session"]["checkpoints"][0].update(message_count=99), "checkpoint"),
        (lambda d: d["session"].update(status="expired"), "'expired' is not a stored status"),
        (lambda d: d["session"].update(ttl_seconds=-5), "ttl_seconds must be positive"),
        (lambda d: d["session"].update(ttl_seconds=1e300), "after year 9999"),
        (lambda d: d["session"].update(parent_id="../etc"), "parent_id"),
        (lambda d: d.update(messages=5), "messages must be a list"),
        (lambda d: d["messages"][0]["parts"][0].update(text=LONE_SURROGATE), "cannot be stored"),
        (lambda d: d["session"].update(system=LONE_SURROGATE), "system is not valid Unicode"),
        (lambda d: d["session"].update(metadata={"a": {"b": LONE_SURROGATE}}), "Unicode"),
    ],
)
def test_a_bad_export_document_is_refused_whole(
    manager: tl.SessionManager, change: Any, match: str
) -> None:
    """The whole document is checked before any write: a checkpoint outside the
    history, a stored status ``expired``, a bad ttl or parent id, a non-list of
    messages, text that cannot be stored."""
    data = _document(manager)
    change(data)
    before = _snapshot(manager)
    with pytest.raises(tl.ValidationError, match=match):
        manager.import_session(data)
    assert _snapshot(manager) == before


def test_an_imported_checkpoint_restores_and_the_next_turn_is_kept(
    manager: tl.SessionManager,
) -> None:
    """The turn lost after importing a checkpoint at -1: now the document is refused,
    and a valid one restores and keeps every later turn."""
    copy = manager.import_session(_document(manager))
    copy.restore("cp")
    copy.send("three")
    assert [m.text for m in manager.get(copy.id).messages] == [
        "one",
        "echo: one",
        "three",
        "echo: three",
    ]


def test_exports_leave_out_version_count_and_server_state(manager: tl.SessionManager) -> None:
    data = _document(manager)
    assert not {"version", "message_count", "native", "pending_calls"} & set(data["session"])


# -- create, list, fork: typed input of the wrong kind or range ------------------------


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"ttl": timedelta(days=3_000_000)}, tl.ValidationError, "after year 9999"),
        ({"ttl": timedelta(0)}, tl.ValidationError, "ttl must be positive"),
        ({"ttl": 60}, TypeError, "ttl must be a datetime.timedelta, not int"),
        ({"system": LONE_SURROGATE}, tl.ValidationError, "system is not valid Unicode"),
        ({"model": LONE_SURROGATE}, tl.ValidationError, "model is not valid Unicode"),
        ({"metadata": {"k": LONE_SURROGATE}}, tl.ValidationError, "metadata"),
        ({"metadata": {1: "x"}}, tl.ValidationError, "keys must be strings"),
        ({"metadata": "x"}, TypeError, "metadata must be a dict"),
        ({"tools": "search"}, TypeError, "tools must be a list"),
        ({"provider": 5}, TypeError, "provider must be a str"),
    ],
)
def test_create_refuses_bad_input_and_writes_nothing(
    manager: tl.SessionManager, options: dict[str, Any], error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        manager.create(**options)
    assert _snapshot(manager) == []


def test_deeply_nested_metadata_is_refused(manager: tl.SessionManager) -> None:
    nested: dict[str, Any] = {}
    inner = nested
    for _ in range(1000):
        inner["x"] = {}
        inner = inner["x"]
    with pytest.raises(tl.ValidationError, match="nested deeper than 64"):
        manager.create(metadata=nested)
    s = manager.create()
    with pytest.raises(tl.ValidationError, match="nested deeper"):
        s.fork(metadata=nested)
    with pytest.raises(tl.ValidationError, match="keys must be strings"):
        s.fork(metadata={2: "x"})  # type: ignore[dict-item]
    assert [i.id for i in manager.list()] == [s.id]


def test_list_filters_and_cursors_are_checked(manager: tl.SessionManager) -> None:
    manager.create()
    with pytest.raises(tl.ValidationError, match="not a list cursor"):
        manager.list(cursor="9" * 40 + ".ses_x")
    with pytest.raises(tl.ValidationError, match="not a list cursor"):
        manager.list(cursor="12.")
    with pytest.raises(TypeError, match="provider must be a str"):
        manager.list(provider=["echo"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="limit must be an int"):
        manager.list(limit="5")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="status must be a str"):
        manager.list(status=3)  # type: ignore[arg-type]


def test_wrong_python_types_say_what_to_pass(store_url: str) -> None:
    with pytest.raises(TypeError, match=r"pass provider='echo' to create\(\)"):
        tl.SessionManager(store_url, providers=["echo"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"default_ttl must be a datetime\.timedelta"):
        tl.SessionManager(store_url, default_ttl=60)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"retry must be a tl\.RetryPolicy"):
        tl.SessionManager(store_url, retry={"max_attempts": 2})  # type: ignore[arg-type]
    with tl.SessionManager(store_url) as manager:
        s = manager.create()
        with pytest.raises(TypeError, match="send\\(\\) takes a str"):
            s.send(None)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="not a message dict"):
            s.send({"role": "user", "content": "hi"})  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="send\\(\\) takes a str"):
            s.send(42)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="cannot take a object"):
            s.send([object()])  # type: ignore[list-item]
        with pytest.raises(TypeError, match="reason must be a str"):
            s.fail(None)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"a checkpoint is a tl\.Checkpoint"):
            s.restore(3)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="unknown options: provdier"):
            s.fork(provdier="echo")  # type: ignore[call-arg]
        assert manager.get(s.id).messages == []
        assert manager.get(s.id).version == 1


def test_text_that_cannot_be_stored_is_refused_on_every_store(manager: tl.SessionManager) -> None:
    """Lone surrogates used to be accepted by memory:// and crash SQLite's writer."""
    s = manager.create()
    for call in (
        lambda: s.send(LONE_SURROGATE),
        lambda: s.checkpoint(LONE_SURROGATE),
        lambda: s.fail(LONE_SURROGATE),
        lambda: s.fork(model=LONE_SURROGATE),
    ):
        with pytest.raises(tl.ValidationError, match="Unicode"):
            call()
    assert (manager.get(s.id).version, manager.get(s.id).messages) == (1, [])


def test_a_tool_result_whose_output_is_not_json_is_refused(manager: tl.SessionManager) -> None:
    s = manager.create(tools=[tl.Tool(name="now", parameters={"type": "object"})])
    call = s.send("/tool now {}").tool_calls[0]
    native = s.native_id
    with pytest.raises(tl.ValidationError, match="not JSON"):
        s.send(tl.ToolResult(call_id=call.call_id, output=object()))
    # Nothing changed, and the server-side copy is still the session's.
    assert s.native_id == native and len(manager.get(s.id).messages) == 2
    assert s.send(tl.ToolResult(call_id=call.call_id, output={"t": 1})).text.startswith("echo:")


# -- tool-call integrity --------------------------------------------------------------


def test_plain_text_while_tool_calls_wait_is_refused(manager: tl.SessionManager) -> None:
    """Providers reject a history whose tool call has no result; the mirror never
    holds one. The error names the pending calls and says how to move on."""
    tools = [tl.Tool(name="a"), tl.Tool(name="b")]
    s = manager.create(tools=tools)
    first = s.send("/tool a {}").tool_calls[0]
    with pytest.raises(tl.ValidationError, match=f"tool calls {first.call_id}.*is_error=True"):
        s.send("never mind")
    with pytest.raises(tl.ValidationError, match="exactly"):
        s.send(tl.ToolResult(call_id="call_other", output="x"))
    with pytest.raises(tl.ValidationError, match="asked for tool calls"):
        list(s.stream("still not"))  # the stream refuses the same way
    assert len(manager.get(s.id).messages) == 2
    # Declining is an answer too.
    reply = s.send(tl.ToolResult(call_id=first.call_id, output="cancelled", is_error=True))
    assert reply.text == "echo: a returned cancelled"
    assert s.send("plain text now").text == "echo: plain text now"
    with pytest.raises(tl.ValidationError, match="no tool call is waiting"):
        s.send(tl.ToolResult(call_id=first.call_id, output="late"))


def test_restore_fork_and_import_keep_track_of_waiting_tool_calls(
    manager: tl.SessionManager,
) -> None:
    s = manager.create(tools=[tl.Tool(name="a")])
    s.send("hello")
    cp = s.checkpoint("before")
    call = s.send("/tool a {}").tool_calls[0]
    child = s.fork()
    with pytest.raises(tl.ValidationError, match=call.call_id):
        child.send("text")
    imported = manager.import_session(s.export())
    with pytest.raises(tl.ValidationError, match=call.call_id):
        imported.send("text")
    s.restore(cp)  # back before the call: nothing waits any more
    assert s.send("text").text == "echo: text"


# -- checkpoints and the public namespace ---------------------------------------------


def test_restore_by_a_repeated_label_returns_to_the_latest(manager: tl.SessionManager) -> None:
    s = manager.create()
    s.checkpoint("save")
    s.send("one")
    s.checkpoint("save")
    s.send("two")
    s.restore("save")
    assert [m.text for m in s.messages] == ["one", "echo: one"]


def test_dir_shows_the_public_names_only() -> None:
    names = dir(tl)
    assert names == sorted(tl.__all__)
    assert "annotations" not in names and "_manager_sync" not in names
