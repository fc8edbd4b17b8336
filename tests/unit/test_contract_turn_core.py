"""The core of one turn on the async face (where the source lives): the tool-call rule's
messages, the history a provider finds ready, a reply that cannot be stored, and how a
failed turn tidies server-side state (and says so when it cannot).

- Tool-call errors name every pending, missing or unexpected call id.
- In local mode, and whenever the server-side copy is stale, the history is loaded
  before the engine runs (``request.history`` is ready); a history the session already
  holds is handed to the engine even when the copy is current.
- A reply that cannot be stored is an ambiguous `ProviderError` naming the provider:
  nothing is mirrored and the server copy is dropped.
- Server-side state a failed turn created is deleted under the session's id; a
  clean-up that fails is logged (session id, error type) and never hides the turn's
  own error.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

import threadline as tl
from threadline.providers.base import NativeState, TurnRequest, TurnResult
from threadline.testing import (
    AsyncEchoEngine,
    EchoProvider,
    FakeGemini,
    TelemetryCapture,
    capture_telemetry,
)

CALLS = ["call_a", "call_b", "call_c"]


def texts(messages: list[tl.Message]) -> list[str]:
    return [m.text for m in messages]


def timeout() -> tl.ProviderUnavailableError:
    return tl.ProviderUnavailableError("timed out", provider="echo", ambiguous=True)


@pytest.fixture
def telemetry() -> Iterator[TelemetryCapture]:
    capture = capture_telemetry()
    yield capture
    capture.shutdown()


# -- the tool-call rule names every call -------------------------------------------------


async def three_calls_waiting(manager: tl.AsyncSessionManager) -> tl.AsyncConversationSession:
    """A session whose last reply asked for three tool calls (imported, so the
    pending calls come from the document's history)."""
    template = await manager.create(tools=[{"name": "x"}])
    document = await template.export()
    calls = [tl.ToolCallPart(call_id=c, name="x", arguments={}) for c in CALLS]
    document["messages"] = [
        tl.Message.user("use x three times").model_dump(mode="json"),
        tl.Message(role="assistant", parts=calls).model_dump(mode="json"),
    ]
    return await manager.import_session(document)


async def test_text_while_calls_wait_names_every_pending_call(
    amanager: tl.AsyncSessionManager,
) -> None:
    session = await three_calls_waiting(amanager)
    version = session.version
    expected = (
        "the last reply asked for tool calls call_a, call_b, call_c: send a tl.ToolResult "
        "for each (is_error=True to decline one) before anything else"
    )
    with pytest.raises(tl.ValidationError, match=f"^{re.escape(expected)}$"):
        await session.send("what now?")
    with pytest.raises(tl.ValidationError, match=f"^{re.escape(expected)}$"):
        async for _ in session.stream("what now?"):
            pass
    assert session.version == version and len(session.messages) == 2


async def test_results_for_some_calls_name_the_pending_and_the_missing_ones(
    amanager: tl.AsyncSessionManager,
) -> None:
    session = await three_calls_waiting(amanager)
    version = session.version
    partial = (
        "tool results must answer the pending calls call_a, call_b, call_c exactly; "
        "missing call_a, call_b"
    )
    with pytest.raises(tl.ValidationError, match=f"^{re.escape(partial)}$"):
        await session.send(tl.ToolResult(call_id="call_c", output="3"))
    # Every call answered, and one more: nothing is missing, so nothing is named as such.
    extra = [tl.ToolResult(call_id=c, output="ok") for c in [*CALLS, "call_d"]]
    exact = "tool results must answer the pending calls call_a, call_b, call_c exactly"
    with pytest.raises(tl.ValidationError, match=f"^{re.escape(exact)}$"):
        await session.send(extra)
    assert session.version == version and len(session.messages) == 2
    # Answering exactly the pending calls is accepted.
    reply = await session.send([tl.ToolResult(call_id=c, output="ok") for c in reversed(CALLS)])
    assert reply.text == "echo: x returned ok; echo: x returned ok; echo: x returned ok"


async def test_results_when_no_call_waits_name_every_result(
    amanager: tl.AsyncSessionManager,
) -> None:
    session = await amanager.create()
    results = [tl.ToolResult(call_id=c, output="ok") for c in ("call_x", "call_y")]
    expected = "no tool call is waiting for a result (got results for call_x, call_y)"
    with pytest.raises(tl.ValidationError, match=f"^{re.escape(expected)}$"):
        await session.send(results)
    assert session.version == 1 and session.messages == []


# -- the history a provider finds ready ----------------------------------------------------


class _HistoryReader(AsyncEchoEngine):
    """Echo that reads ``request.history`` where the seam promises it is loaded (local
    mode, or a stale server copy), and, in local mode, reports bookkeeping state (no
    handle) as some providers keep."""

    async def turn(self, request: TurnRequest) -> TurnResult:
        provider: HistoryEcho = self._provider  # type: ignore[assignment]
        if request.mode == "local" or request.native_for(provider.name) is None:
            try:
                provider.seen.append(texts(list(request.history)))
            except RuntimeError:
                provider.seen.append(None)
        result = await super().turn(request)
        if request.mode == "local":
            result.native = NativeState(
                provider=provider.name,
                synced_count=request.history_count + 2,
                data={"kind": "bookkeeping"},
            )
        return result


class HistoryEcho(EchoProvider):
    async_engine_class = _HistoryReader

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[list[str] | None] = []


async def test_a_local_turn_finds_the_history_loaded_whatever_state_the_provider_kept(
    store_url: str,
) -> None:
    echo = HistoryEcho()
    async with tl.AsyncSessionManager(store_url, providers=[echo]) as manager:
        session = await manager.create(mode="local")
        await session.send("one")
        fresh = await manager.get(session.id)  # reads only the record
        assert (await fresh.send("two")).text == "echo: two"
        assert echo.seen == [[], ["one", "echo: one"]]
        assert texts(fresh.messages) == ["one", "echo: one", "two", "echo: two"]


async def test_a_stale_server_copy_finds_the_history_loaded(store_url: str) -> None:
    """A fork has no server-side state of its own: its first turn re-seeds, and the
    engine finds the history loaded (here on a handle that had not read it)."""
    echo = HistoryEcho()
    async with tl.AsyncSessionManager(store_url, providers=[echo]) as manager:
        session = await manager.create()
        await session.send("one")
        child = await manager.get((await session.fork()).id)
        echo.seen.clear()
        assert (await child.send("two")).text == "echo: two"
        assert echo.seen == [["one", "echo: one"]]
        assert child.native_id is not None
        assert texts(echo.conversations[child.native_id]) == [
            "one",
            "echo: one",
            "two",
            "echo: two",
        ]


async def test_a_history_already_at_hand_names_tool_results_on_a_current_chain() -> None:
    """Gemini: on a current interaction chain the history is not read, but the one the
    session holds is handed over, so tool results name their tool."""
    from threadline.providers.google import GoogleProvider

    fake = FakeGemini()
    weather = tl.Tool(name="weather", description="Weather now.", parameters={"type": "object"})
    async with tl.AsyncSessionManager(
        "memory://", providers=[GoogleProvider(client=fake.client())]
    ) as manager:
        session = await manager.create(provider="google", tools=[weather])
        [call] = (await session.send('/tool weather {"city": "Oslo"}')).tool_calls
        chain = session.native_id
        reply = await session.send(tl.ToolResult(call_id=call.call_id, output="3C"))
        assert fake.bodies[-1]["previous_interaction_id"] == chain
        assert fake.bodies[-1]["input"] == [
            {"type": "function_result", "call_id": call.call_id, "result": "3C", "name": "weather"}
        ]
        assert reply.text == "tool said 3C"


# -- a reply that cannot be stored ---------------------------------------------------------


class _Unstorable(AsyncEchoEngine):
    """Echo whose server keeps the turn but whose reply text is not valid Unicode."""

    async def turn(self, request: TurnRequest) -> TurnResult:
        result = await super().turn(request)
        provider: UnstorableEcho = self._provider  # type: ignore[assignment]
        if provider.spoil:
            result.output = [tl.Message.assistant("broken \ud800 reply")]
        return result


class UnstorableEcho(EchoProvider):
    async_engine_class = _Unstorable
    spoil = False


async def test_a_reply_that_cannot_be_stored_is_ambiguous_and_drops_the_server_copy(
    store_url: str, telemetry: TelemetryCapture
) -> None:
    echo = UnstorableEcho()
    async with tl.AsyncSessionManager(
        store_url, providers=[echo], **telemetry.manager_options
    ) as manager:
        session = await manager.create()
        await session.send("one")
        handle, version = session.native_id, session.version
        assert handle in echo.conversations
        telemetry.clear()
        echo.spoil = True
        with pytest.raises(
            tl.ProviderError,
            match=r"^echo: the reply cannot be stored: the message cannot be stored: its "
            r"text is not valid Unicode",
        ) as caught:
            await session.send("two")
        error = caught.value
        assert type(error) is tl.ProviderError
        assert (error.provider, error.ambiguous, error.retryable) == ("echo", True, False)
        assert echo.calls == 2  # not retried
        # Nothing mirrored; the server copy (which holds the turn) is dropped and deleted.
        assert texts(session.messages) == ["one", "echo: one"]
        assert session.native_id is None and session.version == version + 1
        assert handle not in echo.conversations
        stored = await manager.get(session.id)
        assert stored.native_id is None and stored.version == session.version
        assert texts(stored.messages) == ["one", "echo: one"]
        span = telemetry.span("threadline.send")
        assert [
            dict(e.attributes or {}) for e in span.events if e.name.endswith("invalidated")
        ] == [{"reason": "ambiguous_failure"}]
        # The next turn re-seeds a fresh copy from the mirror.
        echo.spoil = False
        assert (await session.send("three")).text == "echo: three"
        assert session.native_id is not None
        assert texts(echo.conversations[session.native_id]) == [
            "one",
            "echo: one",
            "three",
            "echo: three",
        ]


# -- tidying server-side state after a failed turn ----------------------------------------


async def test_server_state_a_failed_turn_created_is_deleted_under_the_sessions_id(
    store_url: str, telemetry: TelemetryCapture
) -> None:
    echo = EchoProvider()
    async with tl.AsyncSessionManager(
        store_url, providers=[echo], **telemetry.manager_options
    ) as manager:
        session = await manager.create()
        store: Any = manager.store
        real = store.commit
        failures: list[int] = []

        async def commit(*args: Any, **kwargs: Any) -> None:
            if not failures:
                failures.append(1)
                raise tl.StoreError("disk full")
            await real(*args, **kwargs)

        store.commit = commit
        with pytest.raises(tl.StoreError, match="disk full"):
            await session.send("lost")
        assert failures == [1] and echo.conversations == {}
    [delete] = telemetry.spans("delete_conversation")
    attributes = dict(delete.attributes or {})
    assert attributes["gen_ai.conversation.id"] == session.id
    assert attributes["gen_ai.provider.name"] == "echo"


async def test_a_failed_clean_up_is_logged_and_the_turns_own_error_is_raised(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The turn failed ambiguously and dropping the server copy failed too: the caller
    sees the provider error; a warning names the session and the clean-up error's type
    (never its message)."""
    echo = EchoProvider()
    policy = tl.RetryPolicy(max_attempts=1)
    async with tl.AsyncSessionManager(store_url, providers=[echo], retry=policy) as manager:
        session = await manager.create()
        await session.send("one")
        store: Any = manager.store

        async def commit(*args: Any, **kwargs: Any) -> None:
            raise tl.StoreError("disk full")

        store.commit = commit
        echo.faults = [timeout()]
        with (
            caplog.at_level(logging.WARNING, logger="threadline"),
            pytest.raises(tl.ProviderUnavailableError, match=r"^echo: timed out$"),
        ):
            await session.send("two")
        assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
            (
                "threadline",
                logging.WARNING,
                f"could not tidy server-side state of session {session.id} after a failed "
                "turn: StoreError",
            )
        ]
        assert texts(session.messages) == ["one", "echo: one"]
