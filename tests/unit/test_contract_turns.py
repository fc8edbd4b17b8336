"""What a turn promises beyond its reply (async face, where the source lives).

- A turn that fails adds nothing to the mirror, and server-side state it created is
  deleted; a turn that may have reached the server drops the session's server copy
  and says so with a ``threadline.native.invalidated`` span event.
- The provider's stream is closed before ``done`` is handed out; a stream that ends
  before its first event is retried, one that ends after it is an error.
- A message is at most 32 MiB as stored; ids are at most 128 characters.
- ``send``/``stream`` outside an active session raise `InvalidTransitionError`
  naming the status and the operation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

import threadline as tl
from threadline._turn_async import MAX_MESSAGE_BYTES
from threadline.providers.base import StreamEvent, TurnRequest, TurnResult
from threadline.testing import AsyncEchoEngine, EchoProvider, capture_telemetry


def timeout() -> tl.ProviderUnavailableError:
    return tl.ProviderUnavailableError("timed out", provider="echo", ambiguous=True)


def texts(messages: list[tl.Message]) -> list[str]:
    return [m.text for m in messages]


async def failing_commit(store: Any) -> list[int]:
    """Make the store's next commit fail; returns the list counting failed commits."""
    real = store.commit
    failed: list[int] = []

    async def commit(*args: Any, **kwargs: Any) -> None:
        if not failed:
            failed.append(1)
            raise tl.StoreError("disk full")
        await real(*args, **kwargs)

    store.commit = commit
    return failed


# -- server-side state of a failed turn --------------------------------------------------


@pytest.mark.parametrize("how", ["send", "stream"])
async def test_server_state_a_failed_turn_created_is_deleted(how: str) -> None:
    """The first turn creates the server-side conversation; its commit then fails.
    Nothing is mirrored, and the conversation it created is deleted."""
    echo = EchoProvider()
    async with tl.AsyncSessionManager("memory://", providers=[echo]) as manager:
        session = await manager.create()
        failed = await failing_commit(manager.store)

        async def turn() -> None:
            if how == "send":
                await session.send("lost")
            else:
                async for _ in session.stream("lost"):
                    pass

        with pytest.raises(tl.StoreError, match="disk full"):
            await turn()
        assert failed == [1]
        assert echo.calls == 1
        assert echo.conversations == {}
        assert session.native_id is None and session.messages == []
        # The session works on, with a conversation of its own.
        assert (await session.send("kept")).text == "echo: kept"
        assert list(echo.conversations) == [session.native_id]


@pytest.mark.parametrize(
    ("how", "reason"), [("send", "ambiguous_failure"), ("abandon", "interrupted")]
)
async def test_a_turn_that_may_have_reached_the_server_invalidates_its_copy(
    how: str, reason: str
) -> None:
    echo = EchoProvider()
    telemetry = capture_telemetry()
    policy = tl.RetryPolicy(max_attempts=1)
    async with tl.AsyncSessionManager(
        "memory://", providers=[echo], retry=policy, **telemetry.manager_options
    ) as manager:
        session = await manager.create()
        await session.send("one")
        handle = session.native_id
        telemetry.clear()
        if how == "send":
            echo.faults = [timeout()]
            with pytest.raises(tl.ProviderUnavailableError, match="timed out"):
                await session.send("two")
            span = telemetry.span("threadline.send")
        else:
            stream = session.stream("two")
            assert (await anext(stream)).type == "text"
            await stream.aclose()  # type: ignore[attr-defined]
            span = telemetry.span("threadline.stream")
        events = [dict(e.attributes or {}) for e in span.events if e.name.endswith("invalidated")]
        assert [e.name for e in span.events if e.name.endswith("invalidated")] == [
            "threadline.native.invalidated"
        ]
        assert events == [{"reason": reason}]
        assert session.native_id is None and handle not in echo.conversations
        assert texts(session.messages) == ["one", "echo: one"]
        stored = await manager.get(session.id)
        assert stored.native_id is None and stored.version == session.version
    telemetry.shutdown()


async def test_a_refused_turn_keeps_the_server_copy_and_emits_nothing() -> None:
    echo = EchoProvider()
    telemetry = capture_telemetry()
    async with tl.AsyncSessionManager(
        "memory://", providers=[echo], **telemetry.manager_options
    ) as manager:
        session = await manager.create()
        await session.send("one")
        handle, version = session.native_id, session.version
        echo.faults = [tl.AuthenticationError("no", provider="echo", status_code=401)]
        with pytest.raises(tl.AuthenticationError, match="no"):
            await session.send("two")
        assert (session.native_id, session.version) == (handle, version)
        assert handle in echo.conversations
    names = [e.name for s in telemetry.spans() for e in s.events]
    assert "threadline.native.invalidated" not in names
    telemetry.shutdown()


# -- streams ---------------------------------------------------------------------------


class _Tracked(AsyncEchoEngine):
    """Echo's stream, recording when the provider's stream is closed and able to end
    early (before the reply is complete) on chosen attempts."""

    async def stream(self, request: TurnRequest) -> AsyncIterator[StreamEvent | TurnResult]:
        provider: TrackedEcho = self._provider  # type: ignore[assignment]
        provider.opened += 1
        cut = provider.cuts.pop(0) if provider.cuts else None
        try:
            sent = 0
            async for item in super().stream(request):
                if cut is not None and sent >= cut:
                    return
                yield item
                sent += 1
        finally:
            provider.closed += 1


class TrackedEcho(EchoProvider):
    async_engine_class = _Tracked

    def __init__(self, cuts: list[int | None] | None = None) -> None:
        super().__init__()
        self.cuts = list(cuts or [])
        self.opened = 0
        self.closed = 0


async def test_the_providers_stream_is_closed_before_done_is_handed_out() -> None:
    echo = TrackedEcho()
    async with tl.AsyncSessionManager("memory://", providers=[echo]) as manager:
        session = await manager.create()
        seen = []
        async for event in session.stream("one two"):
            seen.append((event.type, echo.closed))
        assert seen == [("text", 0), ("text", 0), ("text", 0), ("done", 1)]
        assert (echo.opened, echo.closed) == (1, 1)


async def test_a_stream_that_ends_before_its_first_event_is_retried(
    no_sleep: list[float],
) -> None:
    echo = TrackedEcho(cuts=[0, 0])
    policy = tl.RetryPolicy(max_attempts=3, initial_backoff=0, max_backoff=0)
    async with tl.AsyncSessionManager("memory://", providers=[echo], retry=policy) as manager:
        session = await manager.create()
        events = [e async for e in session.stream("hello")]
        assert [e.type for e in events] == ["text", "text", "done"]
        assert events[-1].message.text == "echo: hello"
        assert (echo.opened, echo.closed, len(no_sleep)) == (3, 3, 2)
        assert texts(session.messages) == ["hello", "echo: hello"]


async def test_a_stream_that_ends_after_its_first_event_fails_and_mirrors_nothing(
    no_sleep: list[float],
) -> None:
    echo = TrackedEcho(cuts=[1])
    async with tl.AsyncSessionManager("memory://", providers=[echo]) as manager:
        session = await manager.create()
        seen: list[str | None] = []

        async def read() -> None:
            async for event in session.stream("hello there"):
                seen.append(event.text)

        with pytest.raises(tl.ProviderError, match="stream ended before the reply") as caught:
            await read()
        assert seen == ["echo:"]
        assert caught.value.retryable and caught.value.provider == "echo"
        assert (echo.opened, echo.closed, no_sleep) == (1, 1, [])
        assert session.messages == []
        assert (await manager.get(session.id)).version == 1


async def test_a_stream_that_never_completes_exhausts_its_attempts(no_sleep: list[float]) -> None:
    echo = TrackedEcho(cuts=[0, 0])
    policy = tl.RetryPolicy(max_attempts=2, initial_backoff=0, max_backoff=0)
    async with tl.AsyncSessionManager("memory://", providers=[echo], retry=policy) as manager:
        session = await manager.create()
        with pytest.raises(tl.ProviderError, match="stream ended before the reply"):
            async for _ in session.stream("hello"):
                pass
        assert (echo.opened, echo.closed, len(no_sleep)) == (2, 2, 1)


# -- sizes ----------------------------------------------------------------------------


def sized(size: int) -> tl.Message:
    """A user message whose stored JSON is exactly ``size`` bytes."""
    probe = tl.Message.user("x")
    base = len(probe.model_dump_json()) - 1
    message = tl.Message.user("x" * (size - base))
    message = message.model_copy(update={"id": probe.id, "created_at": probe.created_at})
    assert len(message.model_dump_json()) == size
    return message


async def test_a_message_of_32_mib_is_sent_and_one_byte_more_is_refused() -> None:
    assert MAX_MESSAGE_BYTES == 32 * 1024 * 1024
    echo = EchoProvider()
    async with tl.AsyncSessionManager("memory://", providers=[echo]) as manager:
        session = await manager.create(mode="local")
        with pytest.raises(tl.ValidationError, match=f"the limit is {MAX_MESSAGE_BYTES}"):
            await session.send(sized(MAX_MESSAGE_BYTES + 1))
        assert (echo.calls, session.version, session.messages) == (0, 1, [])
        reply = await session.send(sized(MAX_MESSAGE_BYTES))
        assert len(reply.text) == len("echo: ") + len(session.messages[0].text)
        assert echo.calls == 1 and session.version == 2


async def test_an_id_of_128_characters_is_valid_and_129_is_not() -> None:
    longest = "s" + "x" * 127
    async with tl.AsyncSessionManager("memory://") as manager:
        session = await manager.create(session_id=longest, user=longest)
        assert (session.id, session.user) == (longest, longest)
        assert (await manager.get(longest, user=longest)).id == longest
        with pytest.raises(tl.ValidationError, match="session id is longer than 128 characters"):
            await manager.create(session_id=longest + "x")
        with pytest.raises(tl.ValidationError, match="user is longer than 128 characters"):
            await manager.create(user=longest + "x")
        assert [i.id for i in await manager.list()] == [longest]


# -- lifecycle ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "status"),
    [(["pause"], "paused"), (["complete"], "completed"), (["cancel", "archive"], "archived")],
)
async def test_a_turn_outside_an_active_session_names_status_and_operation(
    steps: list[str], status: str
) -> None:
    echo = EchoProvider()
    async with tl.AsyncSessionManager("memory://", providers=[echo]) as manager:
        session = await manager.create()
        for step in steps:
            await getattr(session, step)()
        with pytest.raises(tl.InvalidTransitionError, match=f"cannot send .*: it is {status}") as a:
            await session.send("hi")
        with pytest.raises(tl.InvalidTransitionError, match=f"cannot stream .*it is {status}") as b:
            async for _ in session.stream("hi"):
                pass
        assert (a.value.session_id, a.value.status, a.value.operation) == (
            session.id,
            status,
            "send",
        )
        assert (b.value.session_id, b.value.status, b.value.operation) == (
            session.id,
            status,
            "stream",
        )
        assert echo.calls == 0 and session.messages == []
