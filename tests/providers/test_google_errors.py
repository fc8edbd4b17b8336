"""Gemini failures on threadline's error tree, both engine faces, both SDK error families
(``genai.errors.APIError`` from generateContent, the Interactions errors from native
turns): statuses, transport failures, unreadable replies, failed interactions, and the
no-duplicates rule for retried turns. No key ever reaches an error."""

from __future__ import annotations

import traceback

import pytest
from google_fake import FACES, Driver, Fault

import threadline as tl

pytestmark = pytest.mark.parametrize("face", FACES)

MODES = pytest.mark.parametrize("mode", ["native", "local"])
HOW = pytest.mark.parametrize("how", ["send", "stream"])
KEY = "AIzaSyD-THIS-IS-NOT-A-REAL-KEY-0123"


async def _fail(d: Driver, how: str, text: str = "hello") -> tl.ProviderError:
    turn = d.send if how == "send" else d.stream
    with pytest.raises(tl.ProviderError) as caught:
        await turn(text)
    return caught.value


@MODES
@HOW
@pytest.mark.parametrize(
    ("fault", "kind", "retryable", "ambiguous"),
    [
        (Fault(status=400), tl.ProviderError, False, False),
        (
            Fault(status=401, message=f"API key not valid: {KEY}"),
            tl.AuthenticationError,
            False,
            False,
        ),
        (Fault(status=403, error_status="PERMISSION_DENIED"), tl.AuthenticationError, False, False),
        (Fault(status=404, message="models/gemini-9 is not found"), tl.ProviderError, False, False),
        (
            Fault(status=429, error_status="RESOURCE_EXHAUSTED", headers={"retry-after": "7"}),
            tl.RateLimitError,
            True,
            False,
        ),
        (Fault(status=500), tl.ProviderUnavailableError, True, True),
        (Fault(status=503), tl.ProviderUnavailableError, True, False),
    ],
    ids=["400", "401", "403", "404", "429", "500", "503"],
)
async def test_http_errors_map_onto_the_tree(
    face: str,
    mode: str,
    how: str,
    fault: Fault,
    kind: type[tl.ProviderError],
    retryable: bool,
    ambiguous: bool,
) -> None:
    """Same mapping for both SDK error families: the class, the status, retryable and
    ambiguous as the policy says, ``Retry-After`` honoured, the server's message kept
    with any key masked."""
    d = Driver(face, mode=mode)
    d.fake.faults = [fault]
    error = await _fail(d, how)
    assert type(error) is kind
    assert error.provider == "google" and error.status_code == fault.status
    assert (error.retryable, error.ambiguous) == (retryable, ambiguous)
    assert error.retry_after == (7.0 if fault.status == 429 else None)
    assert KEY not in str(error) and fault.message.split(":")[0] in str(error)
    assert d.history == []
    await d.close()


@MODES
async def test_a_context_overflow_is_its_own_error(face: str, mode: str) -> None:
    d = Driver(face, mode=mode)
    message = (
        "The input token count (1048577) exceeds the maximum number of tokens allowed (1048576)."
    )
    d.fake.faults = [Fault(status=400, message=message)]
    error = await _fail(d, "send")
    assert isinstance(error, tl.ContextWindowExceededError) and not error.retryable
    await d.close()


@MODES
@HOW
@pytest.mark.parametrize(
    "fault", [Fault(timeout=True), Fault(connect_error=True)], ids=["timeout", "connect"]
)
async def test_timeouts_and_lost_connections_are_ambiguous(
    face: str, mode: str, how: str, fault: Fault
) -> None:
    d = Driver(face, mode=mode)
    d.fake.faults = [fault]
    error = await _fail(d, how)
    assert isinstance(error, tl.ProviderUnavailableError)
    assert error.retryable and error.ambiguous and error.status_code is None
    await d.close()


@MODES
@HOW
@pytest.mark.parametrize(
    "body",
    [
        b"<html>Bad gateway</html>",
        b'{"foo": 1}',
        b"[1, 2]",
        b"5",
        b'{"id": "int_9", "status": "completed", "steps": [5]}',
        b'{"id": "int_9", "status": "completed", "steps": 7}',
        b'{"id": "int_9", "status": "completed"}',
    ],
    ids=["not-json", "wrong-shape", "a-list", "a-number", "bad-step", "bad-steps", "no-reply"],
)
async def test_unreadable_replies_are_ambiguous(
    face: str, mode: str, how: str, body: bytes
) -> None:
    """Not JSON, JSON that is not an object, or an object of the wrong shape (an
    interaction whose steps are not steps, or that holds no reply at all): a
    `ProviderError` marked ambiguous (the server may hold the turn), never an untyped
    crash, never an empty reply mirrored; nothing mirrored."""
    d = Driver(face, mode=mode)
    d.fake.faults = [Fault(body=body)]
    error = await _fail(d, how)
    assert type(error) in (tl.ProviderError, tl.ProviderUnavailableError)
    assert error.ambiguous and error.retryable
    assert error.__cause__ is None and error.__context__ is None
    assert d.history == [] and d.native is None
    await d.close()


def _sse(*data: str) -> bytes:
    return "".join(f"data: {line}\n\n" for line in data).encode()


_CREATED = '{"event_type": "interaction.created", "interaction": {"id": "int_9"}}'


@pytest.mark.parametrize(
    ("mode", "body"),
    [
        ("native", _sse("{not json")),
        ("native", _sse("[1, 2]")),
        ("native", _sse('"hello"')),
        ("native", _sse('{"foo": 1}')),
        ("native", _sse(_CREATED, '{"event_type": "step.delta", "index": 0, "delta": 5}')),
        ("native", _sse(_CREATED, '{"event_type": "step.start", "index": 0, "step": 5}')),
        ("native", _sse(_CREATED, '{"event_type": "interaction.completed", "interaction": 5}')),
        (
            "native",
            _sse(
                '{"event_type": "interaction.completed", "interaction": {"id": "int_9", '
                '"status": "completed", "steps": 7}}'
            ),
        ),
        ("local", _sse("5")),
        ("local", _sse('{"candidates": 5}')),
    ],
    ids=[
        "not-json",
        "a-list",
        "a-string",
        "no-event-type",
        "bad-delta",
        "bad-step",
        "bad-interaction",
        "bad-steps",
        "local-a-number",
        "local-bad-candidates",
    ],
)
async def test_unreadable_stream_events_are_ambiguous(face: str, mode: str, body: bytes) -> None:
    """A data line that is not JSON, not an object, or an event of the wrong shape (an
    event without ``event_type`` is read by the SDK as an ``error`` event with no
    error: that is not a failure the server reported) is an unreadable reply:
    ambiguous and retryable, not chained, nothing mirrored, server state dropped."""
    d = Driver(face, mode=mode)
    await d.send("one")
    d.fake.faults = [Fault(body=body, store_anyway=True)]
    error = await _fail(d, "stream", "two")
    assert type(error) is tl.ProviderError
    assert "could not be read" in str(error)
    assert error.ambiguous and error.retryable
    assert error.__cause__ is None and error.__context__ is None
    assert [m.text for m in d.history] == ["one", "re: one"]
    assert d.native is None
    await d.close()


@MODES
@pytest.mark.parametrize(
    "fault", [Fault(cut_after_events=3), Fault(end_after_events=3)], ids=["cut", "ended"]
)
async def test_a_broken_stream_is_ambiguous_and_mirrors_nothing(
    face: str, mode: str, fault: Fault
) -> None:
    d = Driver(face, mode=mode)
    d.fake.faults = [fault]
    error = await _fail(d, "stream", "a few words here")
    assert isinstance(error, tl.ProviderUnavailableError) and error.ambiguous
    assert d.history == []
    await d.close()


async def test_an_error_event_fails_the_stream(face: str) -> None:
    d = Driver(face)
    d.fake.faults = [Fault(error_event_after=2)]
    error = await _fail(d, "stream")
    assert isinstance(error, tl.ProviderUnavailableError)
    assert error.retryable and not error.ambiguous  # the server said it failed
    await d.close()


@HOW
@pytest.mark.parametrize(
    ("fault", "kind", "retryable", "words"),
    [
        (
            Fault(interaction_status="failed", error_code="RESOURCE_EXHAUSTED"),
            tl.RateLimitError,
            True,
            "the model failed",
        ),
        (
            Fault(interaction_status="failed", error_code="INTERNAL"),
            tl.ProviderUnavailableError,
            True,
            "the model failed",
        ),
        (
            Fault(interaction_status="failed", error_code="SAFETY"),
            tl.ProviderError,
            False,
            "the model failed",
        ),
        (Fault(interaction_status="cancelled"), tl.ProviderError, False, "cancelled"),
        (Fault(interaction_status="incomplete"), tl.ProviderError, False, "incomplete"),
        (Fault(interaction_status="budget_exceeded"), tl.ProviderError, False, "budget"),
    ],
    ids=["failed-quota", "failed-internal", "failed-other", "cancelled", "incomplete", "budget"],
)
async def test_unfinished_statuses_are_typed_errors_and_their_interaction_is_deleted(
    face: str,
    how: str,
    fault: Fault,
    kind: type[tl.ProviderError],
    retryable: bool,
    words: str,
) -> None:
    """An interaction that ends failed, cancelled, incomplete or over budget is not a
    reply: the matching error, nothing mirrored, the stored interaction deleted (a
    server-side call of its own), the session's chain untouched."""
    d = Driver(face)
    await d.send("one")
    before = d.native
    d.fake.faults = [fault]
    error = await _fail(d, how, "two")
    assert type(error) is kind and error.retryable == retryable and not error.ambiguous
    assert words in str(error)
    assert d.hooks.server_calls == ["delete_interaction"]
    assert list(d.fake.interactions) == ["int_0001"]
    assert d.native == before and len(d.history) == 2
    await d.close()


@HOW
async def test_continuation_broken_after_progress_is_ambiguous(face: str, how: str) -> None:
    """The first hop is stored, the next fails: `ContinuationInterruptedError` becomes
    an ambiguous, retryable error and the orphaned hop is deleted."""
    d = Driver(face)
    await d.send("one")
    d.fake.hops = 2
    d.fake.faults = [Fault(), Fault(status=500)]
    error = await _fail(d, how, "a long two")
    assert isinstance(error, tl.ProviderUnavailableError)
    assert error.ambiguous and error.retryable and "continuation" in str(error)
    assert list(d.fake.interactions) == ["int_0001"]
    await d.close()


async def test_no_key_in_errors_their_chain_or_tracebacks(face: str) -> None:
    """The SDK error (its request carries the key header; its text quotes the body) is
    not chained: the mapped error has no cause and no context."""
    for mode in ("native", "local"):
        d = Driver(face, mode=mode, api_key=KEY)
        d.fake.faults = [Fault(status=403, message=f"key {KEY} lacks permission")]
        error = await _fail(d, "send")
        assert error.__cause__ is None and error.__context__ is None
        rendered = "".join(traceback.format_exception(error)) + repr(error)
        assert KEY not in rendered and "[redacted key]" in rendered
        await d.close()


async def test_a_429_retried_lands_once(face: str) -> None:
    """Two rate limits, then success: the chain holds the turn once."""
    d = Driver(face)
    await d.send("a")
    d.fake.faults = [Fault(status=429), Fault(status=429)]
    reply = await d.send("b", attempts=3)
    assert d.fake.texts(reply.provider_id) == ["a", "re: a", "b", "re: b"]  # type: ignore[arg-type]
    assert [m.text for m in d.history] == ["a", "re: a", "b", "re: b"]
    await d.close()


async def test_a_timeout_after_storing_never_duplicates_the_turn(face: str) -> None:
    """The first attempt was stored but never answered: the retry branches again from
    the same previous interaction, so the chain the session follows holds the turn once
    (the stray attempt is a dead branch)."""
    d = Driver(face)
    await d.send("a")
    d.fake.faults = [Fault(timeout_after_storing=True)]
    reply = await d.send("b", attempts=2)
    stray = [i for i in d.fake.interactions if i not in d.fake.chain(reply.provider_id)]  # type: ignore[arg-type]
    assert len(stray) == 1
    assert d.fake.interactions[stray[0]]["previous_interaction_id"] == "int_0001"
    assert d.fake.texts(reply.provider_id) == ["a", "re: a", "b", "re: b"]  # type: ignore[arg-type]
    assert [b.get("previous_interaction_id") for b in d.fake.bodies[1:]] == ["int_0001"] * 2
    await d.close()
