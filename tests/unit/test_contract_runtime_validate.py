"""What a manager's runtime does for every session, and the checks on what comes in.

Runtime (async face, where the runtime's source is): a manager reports ``closed`` as
a bool; provider names are exact; ``close()`` closes the clients threadline built and
only those, and ends open streams even when one is running or fails to close;
deleting a session records its store step and deletes its server-side state, logging
(without failing) a delete the provider refuses; a turn that lost the commit race
after it reached the winner's server-side copy drops that copy (one record write,
version + 1), leaves a copy it did not touch alone, and gives up after a bounded
number of tries when other writers keep winning.

Validation (shared by both faces, reached through the public calls): JSON in a message
(metadata, tool results, tool call arguments, provider parts), in session metadata and
in tool parameters may be 64 levels deep, not 65; strings in a message may be as long as
a message, other text at most 1,000,000 characters; metadata at most 64 KiB as JSON;
and every refusal names what is wrong and what to pass.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from types import MappingProxyType
from typing import Any

import pytest

import threadline as tl
from threadline.providers.base import NativeState, StreamEvent, TurnRequest, TurnResult
from threadline.stores import AsyncMemoryStore
from threadline.testing import AsyncEchoEngine, EchoProvider, capture_telemetry


def echo_of(manager: tl.AsyncSessionManager) -> EchoProvider:
    echo = manager.provider("echo")
    assert isinstance(echo, EchoProvider)
    return echo


async def stored(manager: tl.AsyncSessionManager, session_id: str) -> tl.AsyncConversationSession:
    """A fresh handle: what the store holds now."""
    return await manager.get(session_id)


# -- the manager ---------------------------------------------------------------------------


async def test_closed_is_a_bool_before_and_after_close(store_url: str) -> None:
    manager = tl.AsyncSessionManager(store_url)
    assert manager.closed is False
    await manager.aclose()
    assert manager.closed is True


@pytest.mark.parametrize("name", ["ECHO", "Echo", "XXechoXX", "echo2"])
async def test_provider_names_are_exact(amanager: tl.AsyncSessionManager, name: str) -> None:
    """Only ``echo`` itself is built in under that name: any other spelling is an
    unknown provider, refused before anything is written."""
    with pytest.raises(tl.ConfigurationError, match=f"unknown provider '{name}'"):
        await amanager.create(provider=name)
    with pytest.raises(tl.ConfigurationError, match="unknown provider"):
        amanager.provider(name)
    assert await amanager.list() == []


# -- close() and the clients threadline built ----------------------------------------------


@pytest.fixture
def closed_openai_clients(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every ``openai.AsyncOpenAI`` closed during the test (a key in the environment so
    that threadline can build one; no request is ever sent)."""
    openai = pytest.importorskip("openai")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    closed: list[Any] = []
    real_close = openai.AsyncOpenAI.close

    async def close(self: Any) -> None:
        closed.append(self)
        await real_close(self)

    monkeypatch.setattr(openai.AsyncOpenAI, "close", close)
    return closed


async def test_close_closes_the_client_threadline_built(
    store_url: str, closed_openai_clients: list[Any]
) -> None:
    """A built-in provider used by name builds its own client; ``close()`` closes it
    (once: a second close is a no-op)."""
    manager = tl.AsyncSessionManager(store_url)
    session = await manager.create(provider="openai", mode="local")
    # Refused before sending (no call waits for a result), after the client was built.
    with pytest.raises(tl.ValidationError, match="no tool call"):
        await session.send(tl.ToolResult(call_id="call_1", output="x"))
    assert closed_openai_clients == []
    await manager.aclose()
    assert len(closed_openai_clients) == 1
    assert closed_openai_clients[0].is_closed()
    await manager.aclose()
    assert len(closed_openai_clients) == 1


async def test_close_leaves_a_client_the_user_passed_open(
    store_url: str, closed_openai_clients: list[Any]
) -> None:
    openai = pytest.importorskip("openai")
    from threadline.providers import OpenAIProvider

    client = openai.AsyncOpenAI(api_key="sk-test-not-a-real-key", max_retries=0)
    manager = tl.AsyncSessionManager(store_url, providers=[OpenAIProvider(client=client)])
    session = await manager.create(provider="openai", mode="local")
    with pytest.raises(tl.ValidationError, match="no tool call"):
        await session.send(tl.ToolResult(call_id="call_1", output="x"))
    await manager.aclose()
    assert closed_openai_clients == []
    assert not client.is_closed()
    await client.close()


class _ClosingEngine(AsyncEchoEngine):
    async def aclose(self) -> None:
        provider: ClosingEcho = self._provider  # type: ignore[assignment]
        provider.engine_closed += 1


class ClosingEcho(EchoProvider):
    """Echo recording whether the manager closed its engine."""

    async_engine_class = _ClosingEngine

    def __init__(self) -> None:
        super().__init__()
        self.engine_closed = 0


async def test_close_leaves_the_engine_of_a_provider_the_user_passed(store_url: str) -> None:
    echo = ClosingEcho()
    async with tl.AsyncSessionManager(store_url, providers=[echo]) as manager:
        session = await manager.create()
        await session.send("hi")
    assert manager.closed is True
    assert echo.engine_closed == 0


# -- close() and streams left open --------------------------------------------------------


class _GatedEngine(AsyncEchoEngine):
    """Echo's stream, waiting after its first event until the test opens the gate, or
    failing to close (``close_error``) when it is closed early."""

    async def stream(self, request: TurnRequest) -> AsyncIterator[StreamEvent | TurnResult]:
        provider: GatedEcho = self._provider  # type: ignore[assignment]
        try:
            async for item in super().stream(request):
                yield item
                if provider.gate is not None:
                    provider.waiting.set()
                    await provider.gate.wait()
        finally:
            if provider.close_error is not None:
                raise provider.close_error


class GatedEcho(EchoProvider):
    async_engine_class = _GatedEngine

    def __init__(
        self, *, gate: asyncio.Event | None = None, close_error: Exception | None = None
    ) -> None:
        super().__init__()
        self.gate = gate
        self.waiting = asyncio.Event()
        self.close_error = close_error


async def test_close_ends_even_while_a_stream_runs_in_another_task(store_url: str) -> None:
    """A stream being read in another task cannot be closed from here (it is left to
    end by itself; here the reader is cancelled): ``close()`` still closes the manager."""
    echo = GatedEcho(gate=asyncio.Event())
    manager = tl.AsyncSessionManager(store_url, providers=[echo])
    session = await manager.create()

    async def read() -> list[str]:
        return [event.type async for event in session.stream("one two three")]

    reader = asyncio.create_task(read())
    await echo.waiting.wait()  # the reader is inside the stream now
    await manager.aclose()
    assert manager.closed is True
    with pytest.raises(tl.ManagerClosedError, match="manager is closed"):
        await manager.list()
    reader.cancel()
    done = await asyncio.gather(reader, return_exceptions=True)
    assert isinstance(done[0], asyncio.CancelledError | tl.ThreadlineError)


@pytest.mark.parametrize("error", [RuntimeError("cannot close"), ValueError("cannot close")])
async def test_close_ends_even_when_a_stream_fails_to_close(
    store_url: str, error: Exception
) -> None:
    """A stream left open whose provider stream fails to close (``RuntimeError`` or
    ``ValueError``) does not keep ``close()`` from closing the manager."""
    echo = GatedEcho(close_error=error)
    manager = tl.AsyncSessionManager(store_url, providers=[echo])
    session = await manager.create()
    events = session.stream("one two three")
    first = await anext(events)
    assert first.type == "text"
    await manager.aclose()
    assert manager.closed is True
    with pytest.raises(tl.ManagerClosedError, match="manager is closed"):
        await session.send("again")


# -- deleting ------------------------------------------------------------------------------


async def test_deleting_records_its_store_step(store_url: str) -> None:
    telemetry = capture_telemetry()
    async with tl.AsyncSessionManager(store_url, **telemetry.manager_options) as manager:
        by_manager = await manager.create()
        by_session = await manager.create()
        await manager.delete(by_manager.id)
        await by_session.delete()
    spans = telemetry.spans("threadline.delete")
    assert [[e.name for e in s.events] for s in spans] == [
        ["threadline.store.get", "threadline.store.delete"],
        ["threadline.store.delete"],
    ]
    telemetry.shutdown()


async def test_deleting_deletes_the_server_side_copy_with_a_span_naming_the_session(
    store_url: str,
) -> None:
    telemetry = capture_telemetry()
    async with tl.AsyncSessionManager(store_url, **telemetry.manager_options) as manager:
        echo = echo_of(manager)
        session = await manager.create()
        await session.send("hi")
        handle = session.native_id
        assert handle in echo.conversations
        await session.delete()
        assert handle not in echo.conversations
    span = telemetry.span("delete_conversation")
    assert span.attributes is not None
    assert span.attributes["gen_ai.conversation.id"] == session.id
    assert span.attributes["gen_ai.provider.name"] == "echo"
    telemetry.shutdown()


class _UndeletableEngine(AsyncEchoEngine):
    async def delete_native(self, native: NativeState) -> None:
        raise tl.ProviderUnavailableError("server said no to sk-secretkey123", provider="echo")


class UndeletableEcho(EchoProvider):
    """Echo whose server refuses to delete its conversations."""

    async_engine_class = _UndeletableEngine


async def test_a_failed_server_side_delete_is_logged_and_fails_nothing(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The log line names the session, the provider and the error class (never the
    error's message, which may quote a key)."""
    echo = UndeletableEcho()
    async with tl.AsyncSessionManager(store_url, providers=[echo]) as manager:
        session = await manager.create()
        await session.send("hi")
        with caplog.at_level(logging.WARNING, logger="threadline"):
            await session.delete()
        with pytest.raises(tl.SessionNotFoundError, match=session.id):
            await manager.get(session.id)
    assert [r.getMessage() for r in caplog.records] == [
        f"could not delete server-side state of session {session.id} (echo): "
        "ProviderUnavailableError"
    ]


# -- a lost race after the turn reached the server -----------------------------------------


async def test_a_loser_that_continued_the_winners_copy_drops_it(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The stale handle's turn was added to the server-side copy the winner uses: that
    copy is dropped (one record write: version + 1, no handle) and deleted, so the
    winner's next turn re-seeds from the mirror instead of continuing it."""
    telemetry = capture_telemetry()
    async with tl.AsyncSessionManager(store_url, **telemetry.manager_options) as manager:
        echo = echo_of(manager)
        session = await manager.create()
        await session.send("one")
        winner, loser = await stored(manager, session.id), await stored(manager, session.id)
        handle = winner.native_id
        assert handle is not None and loser.native_id == handle
        await winner.send("two")
        won = winner.version
        telemetry.clear()
        with (
            caplog.at_level(logging.WARNING, logger="threadline"),
            pytest.raises(tl.ConcurrencyError, match="refresh"),
        ):
            await loser.send("three")
        assert caplog.records == []
        assert handle not in echo.conversations
        now = await stored(manager, session.id)
        assert (now.version, now.native_id) == (won + 1, None)
        assert len(await now.load_messages()) == 4
        # The winner's handle is stale now: it refreshes and re-seeds.
        with pytest.raises(tl.ConcurrencyError, match="refresh"):
            await winner.send("four")
        await winner.refresh()
        await winner.send("four")
        assert winner.native_id is not None
        assert [m.text for m in echo.conversations[winner.native_id]] == [
            "one",
            "echo: one",
            "two",
            "echo: two",
            "four",
            "echo: four",
        ]
    send = telemetry.spans("threadline.send")[0]
    assert ("threadline.native.invalidated", "orphaned_turn") in [
        (e.name, (e.attributes or {}).get("reason")) for e in send.events
    ]
    deletes = telemetry.spans("delete_conversation")
    assert deletes
    assert [(d.attributes or {}).get("gen_ai.conversation.id") for d in deletes] == [
        session.id
    ] * len(deletes)
    telemetry.shutdown()


async def test_a_loser_with_a_copy_of_its_own_leaves_the_winners_alone(
    amanager: tl.AsyncSessionManager,
) -> None:
    """A stale handle that had no server-side state seeded a copy of its own: that one
    is deleted; the winner's copy and record are untouched and it carries on."""
    echo = echo_of(amanager)
    session = await amanager.create()
    loser = await stored(amanager, session.id)
    await session.send("one")
    handle, version = session.native_id, session.version
    assert handle is not None
    with pytest.raises(tl.ConcurrencyError, match="refresh"):
        await loser.send("two")
    assert list(echo.conversations) == [handle]
    now = await stored(amanager, session.id)
    assert (now.version, now.native_id) == (version, handle)
    await session.send("three")
    assert session.native_id == handle
    assert [m.text for m in echo.conversations[handle]] == [
        "one",
        "echo: one",
        "three",
        "echo: three",
    ]


async def test_a_lost_race_in_local_mode_has_nothing_to_tidy(
    amanager: tl.AsyncSessionManager, caplog: pytest.LogCaptureFixture
) -> None:
    echo = echo_of(amanager)
    session = await amanager.create(mode="local")
    await session.send("one")
    loser = await stored(amanager, session.id)
    await session.send("two")
    with (
        caplog.at_level(logging.DEBUG, logger="threadline"),
        pytest.raises(tl.ConcurrencyError, match="refresh"),
    ):
        await loser.send("three")
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert echo.conversations == {}
    await session.send("four")
    assert len(await (await stored(amanager, session.id)).load_messages()) == 6


class RacingStore(AsyncMemoryStore):
    """A memory store where, once armed, another writer wins the race against each of
    the next ``wins`` writes that drop a session's server-side handle."""

    def __init__(self) -> None:
        super().__init__()
        self.wins = 0
        self.drops_tried = 0

    async def commit(self, record: Any, *, expected_version: int, **kwargs: Any) -> None:
        if record.native is None:
            self.drops_tried += 1
            if self.wins:
                self.wins -= 1
                current = await self.get(record.id, user=None, now=record.updated_at)
                # The other writer touches the record and keeps its handle.
                await super().commit(
                    current.model_copy(update={"version": current.version + 1}),
                    expected_version=current.version,
                )
        await super().commit(record, expected_version=expected_version, **kwargs)


@pytest.mark.parametrize(("wins", "dropped"), [(0, True), (1, True), (2, True), (3, False)])
async def test_dropping_the_winners_copy_is_retried_a_bounded_number_of_times(
    wins: int, dropped: bool
) -> None:
    """Each time yet another writer gets in first, the drop is tried again on what the
    store holds now; after three tries it gives up (the copy expires on the provider's
    side) and the loser still sees its `ConcurrencyError`."""
    store = RacingStore()
    async with tl.AsyncSessionManager(store) as manager:
        echo = echo_of(manager)
        session = await manager.create()
        await session.send("one")
        loser = await stored(manager, session.id)
        await session.send("two")
        handle = session.native_id
        store.wins = wins
        with pytest.raises(tl.ConcurrencyError, match="refresh"):
            await loser.send("three")
        assert store.drops_tried == min(wins + 1, 3)
        now = await stored(manager, session.id)
        assert now.version == session.version + wins + (1 if dropped else 0)
        assert (handle in echo.conversations) is not dropped
        assert now.native_id == (None if dropped else handle)


# -- what a message may hold ---------------------------------------------------------------
#
# Message metadata, tool result outputs, tool call arguments and provider part data
# are JSON nested at most 64 levels; their strings may be as long as a message
# (32 MiB), not just the 1,000,000 characters of a prompt or a label.

TOOL = tl.Tool(name="lookup", description="find a thing")
LONG = "x" * 1_000_001  # past the text limit, far below the message limit


def deep(levels: int, inner: str = "object") -> dict[str, Any]:
    """A JSON object ``levels`` deep: ``deep(1) == {"k": "leaf"}``; below the top,
    nested objects or (``inner="array"``) arrays: ``deep(3, "array") == {"k": [["leaf"]]}``."""
    value: Any = "leaf"
    for _ in range(levels - 1):
        value = {"k": value} if inner == "object" else [value]
    return {"k": value}


async def in_message_metadata(m: tl.AsyncSessionManager, value: dict[str, Any]) -> str:
    session = await m.create()
    await session.send(tl.Message(role="user", parts=[tl.TextPart(text="hi")], metadata=value))
    return session.id


async def in_tool_result_output(m: tl.AsyncSessionManager, value: dict[str, Any]) -> str:
    session = await m.create(tools=[TOOL])
    reply = await session.send("/tool lookup {}")
    [call] = reply.tool_calls
    await session.send(tl.ToolResult(call_id=call.call_id, output=value))
    return session.id


async def in_tool_call_arguments(m: tl.AsyncSessionManager, value: dict[str, Any]) -> str:
    """Echo calls the tool with these arguments: the reply is checked like any input."""
    session = await m.create(tools=[TOOL])
    reply = await session.send(f"/tool lookup {json.dumps(value)}")
    assert reply.tool_calls[0].arguments == value
    return session.id


async def in_provider_part_data(m: tl.AsyncSessionManager, value: dict[str, Any]) -> str:
    """An imported history holding a provider part (provider parts come from replies)."""
    data = await (await m.create()).export()
    data["messages"] = [
        tl.Message.user("hi").model_dump(mode="json"),
        tl.Message(
            role="assistant",
            parts=[
                tl.ProviderPart(provider="echo", kind="note", data=value),
                tl.TextPart(text="ok"),
            ],
        ).model_dump(mode="json"),
    ]
    return (await m.import_session(data)).id


PLACES = {
    "message metadata": (in_message_metadata, tl.ValidationError, "^message metadata"),
    "tool result output": (in_tool_result_output, tl.ValidationError, "^tool result output"),
    "tool call arguments": (
        in_tool_call_arguments,
        tl.ProviderError,
        "^echo: the reply cannot be stored: tool call arguments",
    ),
    "provider part data": (
        in_provider_part_data,
        tl.ValidationError,
        "^invalid export document: message 'msg_[0-9a-z]+': provider part data",
    ),
}


@pytest.mark.parametrize("inner", ["object", "array"])
@pytest.mark.parametrize("place", list(PLACES))
async def test_json_in_a_message_may_be_64_levels_deep_not_65(
    amanager: tl.AsyncSessionManager, place: str, inner: str
) -> None:
    put, error, prefix = PLACES[place]
    await put(amanager, deep(64, inner))
    with pytest.raises(error, match=f"{prefix} is nested deeper than 64 levels$"):
        await put(amanager, deep(65, inner))


@pytest.mark.parametrize("place", list(PLACES))
async def test_strings_in_a_message_may_be_longer_than_a_prompt(place: str) -> None:
    """As keys, values and array items (checked before the store: memory is enough)."""
    put, _, _ = PLACES[place]
    async with tl.AsyncSessionManager("memory://") as manager:
        session_id = await put(manager, {LONG: [LONG]})
        exported = await (await stored(manager, session_id)).export()
    assert json.dumps(exported["messages"]).count(LONG) >= 2  # echo may quote it too


@pytest.mark.parametrize("place", ["message metadata", "tool result output"])
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"k": {1, 2}}, "must be JSON: set is not"),
        ({"k": [b"raw"]}, "must be JSON: bytes is not"),
        ({"k": {3: "three"}}, "keys must be strings, not int"),
    ],
)
async def test_values_you_pass_in_a_message_must_be_json(
    amanager: tl.AsyncSessionManager, place: str, value: dict[str, Any], problem: str
) -> None:
    """Python values that pydantic would quietly turn into JSON (a set into a list, an
    int key into a str) are refused: they would not read back as they were sent."""
    put, error, prefix = PLACES[place]
    with pytest.raises(error, match=f"{prefix} {problem}$"):
        await put(amanager, value)


@pytest.mark.parametrize("place", list(PLACES))
async def test_text_in_a_message_must_be_valid_unicode(
    amanager: tl.AsyncSessionManager, place: str
) -> None:
    put, error, _ = PLACES[place]
    with pytest.raises(error, match="cannot be stored"):
        await put(amanager, {"k": ["bad \ud800 text"]})


# -- metadata and tools -----------------------------------------------------------------


async def test_metadata_of_the_wrong_type_is_named(amanager: tl.AsyncSessionManager) -> None:
    with pytest.raises(TypeError, match=r"^metadata must be a dict, not list$"):
        await amanager.create(metadata=["topic"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^metadata must be a dict, not str$"):
        await (await amanager.create()).fork(metadata="topic")  # type: ignore[arg-type]


async def test_tools_of_the_wrong_type_are_named(amanager: tl.AsyncSessionManager) -> None:
    with pytest.raises(
        TypeError, match=r"^tools must be a list of tl\.Tool \(or dicts\), not str$"
    ):
        await amanager.create(tools="lookup")  # type: ignore[arg-type]
    session = await amanager.create()
    with pytest.raises(
        TypeError, match=r"^tools must be a list of tl\.Tool \(or dicts\), not Tool$"
    ):
        await session.send("hi", tools=TOOL)  # type: ignore[arg-type]


BAD = "bad \ud800 text"


@pytest.mark.parametrize(
    ("tool", "problem"),
    [
        (tl.Tool(name=BAD), "tool name is not valid Unicode text"),
        (tl.Tool(name="x" * 1_000_001), "tool name is longer than 1000000 characters"),
        (tl.Tool(name="t", description=BAD), "tool description is not valid Unicode text"),
        (
            tl.Tool(name="t", description="x" * 1_000_001),
            "tool description is longer than 1000000 characters",
        ),
        (tl.Tool(name="t", parameters=deep(65)), "tool parameters is nested deeper than 64 levels"),
        (
            tl.Tool(name="t", parameters=deep(65, "array")),
            "tool parameters is nested deeper than 64 levels",
        ),
        (tl.Tool(name="t", parameters={"k": [{BAD: 1}]}), "tool parameters is not valid Unicode"),
        (tl.Tool(name="t", parameters={"k": {BAD}}), "tool parameters must be JSON: set is not"),
    ],
)
async def test_a_bad_tool_definition_is_refused_with_what_is_wrong(
    amanager: tl.AsyncSessionManager, tool: tl.Tool, problem: str
) -> None:
    """On ``create(tools=...)`` and on ``send(..., tools=...)``, before anything is
    written or sent."""
    with pytest.raises(tl.ValidationError, match=rf"^{problem}"):
        await amanager.create(tools=[tool])
    assert await amanager.list() == []
    session = await amanager.create()
    with pytest.raises(tl.ValidationError, match=rf"^{problem}"):
        await session.send("hi", tools=[tool])
    assert (await stored(amanager, session.id)).version == session.version


@pytest.mark.parametrize("inner", ["object", "array"])
async def test_tool_parameters_may_be_64_levels_deep(
    amanager: tl.AsyncSessionManager, inner: str
) -> None:
    tool = tl.Tool(name="t", parameters=deep(64, inner))
    session = await amanager.create(tools=[tool])
    assert (await stored(amanager, session.id)).tools == [tool]
    await session.send("hi", tools=[tool.model_dump()])


async def test_metadata_may_be_64_kib_as_json_not_more(amanager: tl.AsyncSessionManager) -> None:
    limit = 64 * 1024
    exact = {"k": "x" * (limit - len(json.dumps({"k": ""})))}
    assert len(json.dumps(exact)) == limit
    session = await amanager.create(metadata=exact)
    assert (await stored(amanager, session.id)).metadata == exact
    over = {"k": exact["k"] + "x"}
    with pytest.raises(
        tl.ValidationError, match=rf"^metadata is {limit + 1} bytes; the limit is {limit}$"
    ):
        await amanager.create(metadata=over)
    with pytest.raises(
        tl.ValidationError, match=rf"^metadata is {limit + 1} bytes; the limit is {limit}$"
    ):
        await session.fork(metadata=over)


@pytest.mark.parametrize(
    ("metadata", "problem"),
    [
        ({"k": MappingProxyType({"a": 1})}, "Object of type mappingproxy is not JSON serializable"),
        ({"n": 10**5000}, "Exceeds the limit"),
    ],
)
async def test_metadata_that_does_not_make_json_is_refused_with_why(
    amanager: tl.AsyncSessionManager, metadata: dict[str, Any], problem: str
) -> None:
    """Values that pass as JSON types but that ``json`` cannot write (a mapping that is
    not a dict, an int too long to print) are refused, saying why."""
    with pytest.raises(
        tl.ValidationError, match=rf"^metadata must be JSON-serialisable: {problem}"
    ):
        await amanager.create(metadata=metadata)
    assert await amanager.list() == []


@pytest.mark.parametrize("inner", ["object", "array"])
async def test_metadata_may_be_64_levels_deep_not_65(
    amanager: tl.AsyncSessionManager, inner: str
) -> None:
    session = await amanager.create(metadata=deep(64, inner))
    assert (await stored(amanager, session.id)).metadata == deep(64, inner)
    with pytest.raises(tl.ValidationError, match=r"^metadata is nested deeper than 64 levels$"):
        await amanager.create(metadata=deep(65, inner))
    with pytest.raises(tl.ValidationError, match=r"^metadata is nested deeper than 64 levels$"):
        await session.fork(metadata=deep(65, inner))


# -- text and ttl ----------------------------------------------------------------------------


async def test_text_of_the_wrong_type_is_named_with_what_to_pass(
    amanager: tl.AsyncSessionManager,
) -> None:
    """Optional text (system prompt, model, checkpoint label) may be None; required
    text (a ``fail()`` reason) may not."""
    with pytest.raises(TypeError, match=r"^system must be a str or None, not int$"):
        await amanager.create(system=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^model must be a str or None, not bytes$"):
        await amanager.create(model=b"echo-1")  # type: ignore[arg-type]
    session = await amanager.create()
    with pytest.raises(TypeError, match=r"^checkpoint label must be a str or None, not list$"):
        await session.checkpoint(["a"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^reason must be a str, not NoneType$"):
        await session.fail(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^reason must be a str, not int$"):
        await session.fail(5)  # type: ignore[arg-type]
    assert (await stored(amanager, session.id)).version == session.version


async def test_a_ttl_past_year_9999_is_refused(amanager: tl.AsyncSessionManager) -> None:
    with pytest.raises(
        tl.ValidationError, match=r"^ttl is too long: the session would expire after year 9999$"
    ):
        await amanager.create(ttl=timedelta.max)
    assert await amanager.list() == []


async def test_text_may_be_a_million_characters_not_more(amanager: tl.AsyncSessionManager) -> None:
    limit = 1_000_000
    session = await amanager.create(system="x" * limit)
    assert (await stored(amanager, session.id)).system == "x" * limit
    with pytest.raises(tl.ValidationError, match=rf"^system is longer than {limit} characters$"):
        await amanager.create(system="x" * (limit + 1))
    with pytest.raises(
        tl.ValidationError, match=rf"^checkpoint label is longer than {limit} characters$"
    ):
        await session.checkpoint("x" * (limit + 1))
    assert await session.checkpoint("x" * limit)


# -- providers given to a manager ------------------------------------------------------------


@pytest.mark.parametrize(
    ("providers", "problem"),
    [
        ("echo", "providers must be a list of provider objects such as "),
        (b"echo", "providers must be a list of provider objects such as "),
        (5, "providers must be a list of provider objects such as "),
    ],
)
def test_providers_that_are_not_a_list_are_refused(providers: Any, problem: str) -> None:
    kind = type(providers).__name__
    with pytest.raises(
        TypeError, match=rf"^{problem}tl\.providers\.OpenAIProvider\(client=\.\.\.\), not {kind}$"
    ):
        tl.AsyncSessionManager("memory://", providers=providers)


def test_a_provider_name_in_the_providers_list_says_to_pass_it_to_create() -> None:
    with pytest.raises(
        TypeError,
        match=(
            r"^providers must be provider objects such as tl\.providers\.OpenAIProvider\("
            r"client=\.\.\.\); to use a built-in provider by name, pass provider='openai' "
            r"to create\(\)$"
        ),
    ):
        tl.AsyncSessionManager("memory://", providers=[EchoProvider(), "openai"])  # type: ignore[list-item]


@pytest.mark.parametrize("provider", [5, None, object()])
def test_something_else_in_the_providers_list_is_named(provider: Any) -> None:
    kind = type(provider).__name__
    with pytest.raises(TypeError, match=rf"^not a provider: {kind}$"):
        tl.AsyncSessionManager("memory://", providers=[provider])


def test_a_provider_class_instead_of_an_object_is_refused_at_once() -> None:
    with pytest.raises(
        TypeError,
        match=r"^providers must be provider objects, not the class EchoProvider: "
        r"pass EchoProvider\(\.\.\.\)$",
    ):
        tl.AsyncSessionManager("memory://", providers=[EchoProvider])  # type: ignore[list-item]
