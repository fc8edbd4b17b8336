"""Documented session behaviours no other test pinned down (async face, both stores).

Fork and import copy the system prompt, tools, checkpoints and TTL; usage survives a
restore; expiry slides on every kind of write and never on a read; a session without
an owner is invisible to calls scoped to a user; ``mode="native"`` needs a provider
that keeps server-side state; an export carries no version or derived counts; and
every failure marks its span with the stable ``error.type`` of its class.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

import threadline as tl
from threadline.providers.base import Capabilities
from threadline.testing import EchoProvider, capture_telemetry

TTL = timedelta(hours=1)
TOOL = tl.Tool(
    name="lookup",
    description="find a thing",
    parameters={"type": "object", "properties": {"q": {"type": "string"}}},
)


def texts(messages: list[tl.Message]) -> list[str]:
    return [m.text for m in messages]


class PlainProvider(EchoProvider):
    """Echo without server-side state, like a provider that only takes whole histories."""

    name = "plain"
    capabilities = Capabilities(native_state=False, delete_native=False)


async def seeded(manager: tl.AsyncSessionManager) -> tl.AsyncConversationSession:
    session = await manager.create(
        user="ann", system="Be brief.", tools=[TOOL], ttl=TTL, metadata={"topic": "maps"}
    )
    await session.send("one")
    await session.checkpoint("after-one")
    await session.send("two")
    await session.checkpoint("after-two")
    return session


# -- fork and import -----------------------------------------------------------------------


async def test_fork_copies_system_tools_checkpoints_and_ttl(
    amanager: tl.AsyncSessionManager, move_clock: Any
) -> None:
    parent = await seeded(amanager)
    move_clock(timedelta(minutes=10))
    child = await parent.fork()
    early = await parent.fork(at="after-one")
    for copy, labels, count in ((child, ["after-one", "after-two"], 4), (early, ["after-one"], 2)):
        for seen in (copy, await amanager.get(copy.id, user="ann")):
            assert seen.system == "Be brief."
            assert seen.tools == [TOOL]
            assert [c.label for c in seen.checkpoints] == labels
            assert [c.message_count for c in seen.checkpoints] == [2, 4][: len(labels)]
            assert seen.expires_at == seen.created_at + TTL
            assert seen.expires_at > parent.expires_at  # the child's own clock
            assert (seen.user, seen.metadata, seen.parent_id) == (
                "ann",
                {"topic": "maps"},
                parent.id,
            )
            assert len(await seen.load_messages()) == count
    # The TTL itself is copied: the child's expiry slides by it on its own writes.
    move_clock(timedelta(minutes=5))
    await child.send("three")
    assert child.expires_at == child.updated_at + TTL
    # The fork can restore to a copied checkpoint.
    await child.restore("after-one")
    assert texts(child.messages) == ["one", "echo: one"]


async def test_import_copies_system_tools_checkpoints_and_ttl(
    amanager: tl.AsyncSessionManager, move_clock: Any
) -> None:
    source = await seeded(amanager)
    document = await source.export()
    move_clock(timedelta(minutes=10))
    copy = await amanager.import_session(document)
    for seen in (copy, await amanager.get(copy.id, user="ann")):
        assert seen.id != source.id
        assert seen.system == "Be brief."
        assert seen.tools == [TOOL]
        assert [(c.label, c.message_count) for c in seen.checkpoints] == [
            ("after-one", 2),
            ("after-two", 4),
        ]
        assert seen.expires_at == seen.created_at + TTL
        assert seen.expires_at > source.expires_at
        assert seen.usage == source.usage
        assert (seen.version, len(await seen.load_messages())) == (1, 4)
    move_clock(timedelta(minutes=5))
    await copy.restore("after-one")
    assert copy.expires_at == copy.updated_at + TTL
    assert texts(copy.messages) == ["one", "echo: one"]


async def test_an_export_carries_no_version_counts_or_server_state(
    amanager: tl.AsyncSessionManager,
) -> None:
    session = await seeded(amanager)
    assert session.version == 5 and session.native_id is not None
    document = await session.export()
    assert set(document) == {"format_version", "exported_at", "session", "messages"}
    assert set(document["session"]) == {
        "id",
        "user",
        "provider",
        "model",
        "system",
        "mode",
        "status",
        "status_reason",
        "created_at",
        "updated_at",
        "expires_at",
        "ttl_seconds",
        "metadata",
        "parent_id",
        "usage",
        "checkpoints",
        "tools",
    }
    assert len(document["messages"]) == 4
    # Whatever such fields say, an import counts for itself.
    document["session"].update(version=41, message_count=99, native={"provider": "echo"})
    copy = await amanager.import_session(document)
    assert (copy.version, copy.native_id, len(copy.messages)) == (1, None, 4)
    assert [i.message_count for i in await amanager.list() if i.id == copy.id] == [4]


# -- usage and expiry ----------------------------------------------------------------------


async def test_usage_already_spent_stays_counted_after_restore(
    amanager: tl.AsyncSessionManager,
) -> None:
    session = await seeded(amanager)
    spent = session.usage
    assert spent.input_tokens > 0 and spent.output_tokens > 0
    await session.restore("after-one")
    assert session.usage == spent
    assert (await amanager.get(session.id)).usage == spent
    await session.send("again")
    assert session.usage.output_tokens > spent.output_tokens


async def test_expiry_slides_on_every_kind_of_write(
    amanager: tl.AsyncSessionManager, move_clock: Any
) -> None:
    session = await amanager.create(ttl=TTL)
    assert session.expires_at == session.created_at + TTL

    async def streamed() -> None:
        async for _ in session.stream("streamed"):
            pass

    writes: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        ("send", lambda: session.send("hello")),
        ("stream", streamed),
        ("checkpoint", lambda: session.checkpoint("cp")),
        ("send", lambda: session.send("more")),
        ("restore", lambda: session.restore("cp")),
        ("pause", session.pause),
        ("resume", session.resume),
        ("fail", lambda: session.fail("why")),
        ("resume", session.resume),
        ("complete", session.complete),
        ("archive", session.archive),
        ("reactivate", session.reactivate),
        ("cancel", session.cancel),
    ]
    for name, write in writes:
        before = session.expires_at
        assert before is not None
        move_clock(timedelta(minutes=2))
        await write()
        stored = await amanager.get(session.id)
        assert session.expires_at == session.updated_at + TTL, name
        assert session.expires_at - before >= timedelta(minutes=2), name
        assert stored.expires_at == session.expires_at, name


async def test_reads_never_move_the_expiry(
    amanager: tl.AsyncSessionManager, move_clock: Any
) -> None:
    session = await amanager.create(ttl=TTL)
    await session.send("hello")
    expires, version = session.expires_at, session.version
    reads: list[Callable[[], Awaitable[Any]]] = [
        lambda: amanager.get(session.id),
        session.load_messages,
        session.export,
        lambda: amanager.list(),
        lambda: amanager.list(order_by="updated"),
        session.refresh,
    ]
    for read in reads:
        move_clock(timedelta(minutes=5))
        await read()
        assert len(session.messages) == 2
        stored = await amanager.get(session.id)
        assert (stored.expires_at, stored.version) == (expires, version)
    assert (session.expires_at, session.version) == (expires, version)
    move_clock(timedelta(minutes=31))  # an hour and a minute after the last write
    with pytest.raises(tl.SessionExpiredError, match="has expired"):
        await amanager.get(session.id)


# -- ownership -----------------------------------------------------------------------------


async def test_a_session_without_an_owner_is_hidden_from_user_scoped_calls(
    amanager: tl.AsyncSessionManager,
) -> None:
    unowned = await amanager.create()
    owned = await amanager.create(user="ann")
    with pytest.raises(tl.SessionNotFoundError, match="not found") as caught:
        await amanager.get(unowned.id, user="ann")
    assert caught.value.session_id == unowned.id
    assert [i.id for i in await amanager.list(user="ann")] == [owned.id]
    with pytest.raises(tl.SessionNotFoundError, match="not found"):
        await amanager.delete(unowned.id, user="ann")
    # Unscoped calls still see it, and it was not deleted.
    assert (await amanager.get(unowned.id)).user is None
    assert {i.id for i in await amanager.list()} == {unowned.id, owned.id}


# -- modes ---------------------------------------------------------------------------------


async def test_native_mode_on_a_provider_without_server_state_is_refused() -> None:
    plain = PlainProvider()
    async with tl.AsyncSessionManager("memory://", providers=[plain]) as manager:
        with pytest.raises(tl.ConfigurationError, match="'plain' keeps no server-side state"):
            await manager.create(provider="plain", mode="native")
        assert await manager.list() == []
        session = await manager.create(provider="plain")
        assert session.mode == "local"
        assert (await session.send("hi")).text == "echo: hi"
        native = await manager.create()
        assert native.mode == "native"
        with pytest.raises(tl.ConfigurationError, match="'plain' keeps no server-side state"):
            await native.fork(provider="plain", mode="native")
        handed = await native.fork(provider="plain")
        assert (handed.mode, handed.provider) == ("local", "plain")
        assert {i.id for i in await manager.list()} == {session.id, native.id, handed.id}


# -- error.type on spans ---------------------------------------------------------------------


def fault(kind: type[tl.ProviderError], status: int | None) -> tl.ProviderError:
    return kind("it failed", provider="echo", status_code=status)


async def _configuration(m: tl.AsyncSessionManager, echo: EchoProvider, move: Any) -> None:
    await m.create(provider="nope")


async def _closed(m: tl.AsyncSessionManager, echo: EchoProvider, move: Any) -> None:
    await m.aclose()
    await m.get("ses_any")


async def _not_found(m: tl.AsyncSessionManager, echo: EchoProvider, move: Any) -> None:
    await m.get("ses_missing")


async def _expired(m: tl.AsyncSessionManager, echo: EchoProvider, move: Any) -> None:
    session = await m.create(ttl=timedelta(seconds=1))
    move(timedelta(seconds=2))
    await session.pause()


async def _transition(m: tl.AsyncSessionManager, echo: EchoProvider, move: Any) -> None:
    session = await m.create()
    await session.complete()
    await session.pause()


async def _conflict(m: tl.AsyncSessionManager, echo: EchoProvider, move: Any) -> None:
    session = await m.create()
    stale = await m.get(session.id)
    await session.checkpoint()
    await stale.pause()


async def _validation(m: tl.AsyncSessionManager, echo: EchoProvider, move: Any) -> None:
    session = await m.create()
    await session.restore("no-such-checkpoint")


async def _store(m: tl.AsyncSessionManager, echo: EchoProvider, move: Any) -> None:
    session = await m.create()

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise tl.StoreError("disk full")

    m.store.commit = broken  # type: ignore[method-assign]
    await session.pause()


def _provider(kind: type[tl.ProviderError], status: int | None) -> Any:
    async def scenario(m: tl.AsyncSessionManager, echo: EchoProvider, move: Any) -> None:
        echo.faults = [fault(kind, status)]
        session = await m.create()
        await session.send("hi")

    return scenario


ERROR_TYPES = [
    ("configuration_error", tl.ConfigurationError, _configuration, "threadline.create"),
    ("manager_closed", tl.ManagerClosedError, _closed, "threadline.get"),
    ("session_not_found", tl.SessionNotFoundError, _not_found, "threadline.get"),
    ("session_expired", tl.SessionExpiredError, _expired, "threadline.pause"),
    ("invalid_transition", tl.InvalidTransitionError, _transition, "threadline.pause"),
    ("concurrency_conflict", tl.ConcurrencyError, _conflict, "threadline.pause"),
    ("validation_error", tl.ValidationError, _validation, "threadline.restore"),
    ("store_error", tl.StoreError, _store, "threadline.pause"),
    ("provider_error", tl.ProviderError, _provider(tl.ProviderError, 400), "chat echo-1"),
    ("rate_limited", tl.RateLimitError, _provider(tl.RateLimitError, 429), "chat echo-1"),
    (
        "provider_unavailable",
        tl.ProviderUnavailableError,
        _provider(tl.ProviderUnavailableError, 503),
        "chat echo-1",
    ),
    (
        "authentication_failed",
        tl.AuthenticationError,
        _provider(tl.AuthenticationError, 401),
        "chat echo-1",
    ),
    (
        "context_window_exceeded",
        tl.ContextWindowExceededError,
        _provider(tl.ContextWindowExceededError, 400),
        "chat echo-1",
    ),
]


@pytest.mark.parametrize(
    ("error_type", "error", "scenario", "span_name"),
    ERROR_TYPES,
    ids=[e[0] for e in ERROR_TYPES],
)
async def test_every_error_class_marks_its_span_with_its_error_type(
    error_type: str,
    error: type[tl.ThreadlineError],
    scenario: Any,
    span_name: str,
    move_clock: Any,
) -> None:
    assert error.error_type == error_type
    echo = EchoProvider()
    telemetry = capture_telemetry()
    manager = tl.AsyncSessionManager(
        "memory://",
        providers=[echo],
        retry=tl.RetryPolicy(max_attempts=1),
        **telemetry.manager_options,
    )
    with pytest.raises(error) as caught:
        await scenario(manager, echo, move_clock)
    await manager.aclose()
    assert type(caught.value) is error
    spans = [s for s in telemetry.spans(span_name) if (s.attributes or {}).get("error.type")]
    assert [s.attributes["error.type"] for s in spans] == [error_type]  # type: ignore[index]
    assert spans[0].status.description == error.__name__
    if span_name.startswith("chat"):
        turn = telemetry.span("threadline.send")
        assert turn.attributes is not None and turn.attributes["error.type"] == error_type
    telemetry.shutdown()
