"""Streams and lost commit races on the async face: what the span, the server copy and
the store see.

- A stream's span is never the caller's current span, even between events, and its
  commit is recorded on it.
- A streamed turn that the provider refuses keeps the server copy; the error names
  the provider.
- A native turn whose server copy is current reads no history from the store.
- A turn that reached the server but lost the commit race to another handle leaves
  no server copy holding its input: the session stops using it (``orphaned_turn``).
"""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry import trace

import threadline as tl
from threadline.testing import EchoProvider, capture_telemetry


def texts(messages: list[tl.Message]) -> list[str]:
    return [m.text for m in messages]


async def test_a_streams_span_never_becomes_the_callers_current_span() -> None:
    telemetry = capture_telemetry()
    async with tl.AsyncSessionManager("memory://", **telemetry.manager_options) as manager:
        session = await manager.create()
        outside = trace.get_current_span()
        seen = []
        async for event in session.stream("one two three"):
            seen.append(event.type)
            assert trace.get_current_span() is outside
        assert seen == ["text", "text", "text", "text", "done"]
    span = telemetry.span("threadline.stream")
    assert [e.name for e in span.events if e.name.startswith("threadline.store.")] == [
        "threadline.store.commit"
    ]
    telemetry.shutdown()


async def test_a_refused_stream_keeps_the_server_copy_and_names_the_provider() -> None:
    echo = EchoProvider()
    async with tl.AsyncSessionManager("memory://", providers=[echo]) as manager:
        session = await manager.create()
        await session.send("one")
        handle, version = session.native_id, session.version
        echo.faults = [tl.AuthenticationError("bad key", provider="echo", status_code=401)]
        with pytest.raises(tl.AuthenticationError, match=r"^echo 401: bad key$"):
            async for _ in session.stream("two"):
                pass
        assert (session.native_id, session.version) == (handle, version)
        assert texts(echo.conversations[handle]) == ["one", "echo: one"]


async def test_a_stream_that_never_starts_names_its_provider(no_sleep: list[float]) -> None:
    class Silent(EchoProvider):
        async_engine_class = type(
            "SilentEngine",
            (EchoProvider().async_engine().__class__,),
            {"stream": lambda self, request: _empty()},
        )

    policy = tl.RetryPolicy(max_attempts=2, initial_backoff=0, max_backoff=0)
    async with tl.AsyncSessionManager("memory://", providers=[Silent()], retry=policy) as m:
        session = await m.create()
        with pytest.raises(tl.ProviderError) as caught:
            async for _ in session.stream("hello"):
                pass
    assert str(caught.value) == "echo: the stream ended before the reply was complete"
    assert (caught.value.provider, caught.value.retryable) == ("echo", True)
    assert no_sleep == [0.0]


async def _empty() -> Any:
    return
    yield  # an async generator that ends at once


async def test_a_native_turn_on_a_current_server_copy_reads_no_history() -> None:
    async with tl.AsyncSessionManager("memory://") as manager:
        session = await manager.create()
        await session.send("one")
        reads: list[tuple[Any, ...]] = []
        real = manager.store.read_messages

        async def counted(*args: Any, **kwargs: Any) -> list[tl.Message]:
            reads.append(args)
            return await real(*args, **kwargs)

        manager.store.read_messages = counted  # type: ignore[method-assign]
        again = await manager.get(session.id)
        events = [e async for e in again.stream("two")]
        assert events[-1].message.text == "echo: two"
        assert await again.send("three") is not None
        assert reads == []
        assert texts(await again.load_messages()) == [
            "one",
            "echo: one",
            "two",
            "echo: two",
            "three",
            "echo: three",
        ]


@pytest.mark.parametrize("how", ["send", "stream"])
async def test_a_turn_that_lost_the_commit_race_leaves_no_server_copy_in_use(how: str) -> None:
    """Two handles on one session: the first writes, the stale second one's turn still
    reaches the server (appending to the shared conversation), then loses the commit.
    The stored session must stop using that conversation, which now holds a turn
    the mirror does not."""
    echo = EchoProvider()
    telemetry = capture_telemetry()
    async with tl.AsyncSessionManager(
        "memory://", providers=[echo], **telemetry.manager_options
    ) as manager:
        first = await manager.create()
        await first.send("one")
        stale = await manager.get(first.id)
        await first.send("two")
        shared = first.native_id

        async def lose() -> None:
            if how == "send":
                await stale.send("loser")
            else:
                async for _ in stale.stream("loser"):
                    pass

        with pytest.raises(tl.ConcurrencyError, match="changed since version 2") as caught:
            await lose()
        assert caught.value.session_id == first.id
        stored = await manager.get(first.id)
        assert stored.native_id is None
        assert shared not in echo.conversations
        assert texts(await stored.load_messages()) == ["one", "echo: one", "two", "echo: two"]
        events = [
            dict(e.attributes or {})
            for s in telemetry.spans()
            for e in s.events
            if e.name == "threadline.native.invalidated"
        ]
        assert events == [{"reason": "orphaned_turn"}]
        # The winner continues on a fresh copy seeded from the mirror, without "loser".
        await stored.send("three")
        assert texts(echo.conversations[stored.native_id]) == [
            "one",
            "echo: one",
            "two",
            "echo: two",
            "three",
            "echo: three",
        ]
    telemetry.shutdown()


async def test_a_lost_race_while_dropping_the_server_copy_still_drops_it(
    no_sleep: list[float],
) -> None:
    """A turn fails ambiguously; the write that drops the server copy meets a newer
    version (another writer). The copy is still dropped from the newest record, said
    so on the span, and deleted on the server."""
    echo = EchoProvider()
    telemetry = capture_telemetry()
    async with tl.AsyncSessionManager(
        "memory://",
        providers=[echo],
        retry=tl.RetryPolicy(max_attempts=1),
        **telemetry.manager_options,
    ) as manager:
        session = await manager.create()
        await session.send("one")
        handle = session.native_id
        other = await manager.get(session.id)
        real = manager.store.commit
        raced: list[int] = []

        async def racing(record: Any, **kwargs: Any) -> None:
            if not raced and record.native is None:
                raced.append(1)
                await other.checkpoint("meanwhile")  # the other writer wins first
            await real(record, **kwargs)

        manager.store.commit = racing  # type: ignore[method-assign]
        echo.faults = [tl.ProviderUnavailableError("timed out", provider="echo", ambiguous=True)]
        with pytest.raises(tl.ProviderUnavailableError, match="timed out"):
            await session.send("two")
        stored = await manager.get(session.id)
        assert (stored.native_id, [c.label for c in stored.checkpoints]) == (None, ["meanwhile"])
        assert handle not in echo.conversations
    span = telemetry.spans("threadline.send")[-1]
    reasons = [
        dict(e.attributes or {})["reason"]
        for e in span.events
        if e.name == "threadline.native.invalidated"
    ]
    assert reasons == ["orphaned_turn", "ambiguous_failure"]
    telemetry.shutdown()


async def test_dropping_the_server_copy_is_recorded_on_the_streams_span() -> None:
    telemetry = capture_telemetry()
    async with tl.AsyncSessionManager("memory://", **telemetry.manager_options) as manager:
        session = await manager.create()
        await session.send("one")
        telemetry.clear()
        stream = session.stream("two")
        assert (await anext(stream)).type == "text"
        await stream.aclose()  # type: ignore[attr-defined]
        assert session.native_id is None
    span = telemetry.span("threadline.stream")
    names = [e.name for e in span.events]
    assert "threadline.store.commit" in names
    assert names.index("threadline.store.commit") < names.index("threadline.native.invalidated")
    telemetry.shutdown()


async def test_tool_calls_must_be_answered_exactly_before_anything_else() -> None:
    """Each refusal names the calls; nothing reaches the provider or the mirror."""
    echo = EchoProvider()
    async with tl.AsyncSessionManager("memory://", providers=[echo]) as manager:
        session = await manager.create(tools=[{"name": "x"}, {"name": "y"}])
        with pytest.raises(tl.ValidationError) as caught:
            await session.send(tl.ToolResult(call_id="call_a", output=1))
        assert str(caught.value) == "no tool call is waiting for a result (got results for call_a)"
        reply = await session.send("/tool x {}")
        (call,) = reply.tool_calls
        calls, version = echo.calls, session.version
        with pytest.raises(tl.ValidationError) as caught:
            await session.send("something else")
        assert str(caught.value) == (
            f"the last reply asked for tool calls {call.call_id}: send a tl.ToolResult for"
            " each (is_error=True to decline one) before anything else"
        )
        with pytest.raises(tl.ValidationError) as caught:
            await session.send(tl.ToolResult(call_id="call_other", output=1))
        assert str(caught.value) == (
            f"tool results must answer the pending calls {call.call_id} exactly;"
            f" missing {call.call_id}"
        )
        both = [tl.ToolResult(call_id=call.call_id, output=1), tl.ToolResult(call_id="c2")]
        with pytest.raises(tl.ValidationError) as caught:
            await session.send(both)
        assert str(caught.value) == (
            f"tool results must answer the pending calls {call.call_id} exactly"
        )
        assert (echo.calls, session.version, len(session.messages)) == (calls, version, 2)
        answer = await session.send(tl.ToolResult(call_id=call.call_id, output={"ok": True}))
        assert answer.text == 'echo: x returned {"ok": true}'


async def test_a_local_turn_on_a_loaded_history_reads_nothing_from_the_store() -> None:
    async with tl.AsyncSessionManager("memory://") as manager:
        session = await manager.create(mode="local")
        reads: list[tuple[Any, ...]] = []
        real = manager.store.read_messages

        async def counted(*args: Any, **kwargs: Any) -> list[tl.Message]:
            reads.append(args)
            return await real(*args, **kwargs)

        manager.store.read_messages = counted  # type: ignore[method-assign]
        await session.send("one")
        events = [e async for e in session.stream("two")]
        assert events[-1].message.text == "echo: two"
        assert reads == []
        fresh = await manager.get(session.id)
        await fresh.send("three")  # a new handle reads the history once, to send it
        assert reads == [(session.id,)]
        assert [m.text for m in fresh.messages][-2:] == ["three", "echo: three"]
