"""The fault matrix: each adapter against each way a model call can fail, on both faces.

Every case runs one session on its adapter's fake server (native mode): a first turn,
then the fault, then the turn under test (``second``), then one more turn (``third``).
``TABLE`` below says how the turn under test must end, with retries left
(``RetryPolicy(max_attempts=4)``, waits recorded by ``no_sleep``) and without
(``max_attempts=1``):

- **retry-success** (``OK``): the reply arrives, streamed text shown once; the mirror
  holds the turn exactly once, in the handle and in the store, after one commit
  (version + 1); the retries waited what the server asked (``Retry-After: 7``) or the
  policy's backoff (0 here), once per failed attempt.
- **a typed error**: exactly the `tl.ProviderError` subclass the table names; nothing
  added to the mirror (handle and store); the version unchanged, unless the session
  dropped its server-side copy after an ambiguous failure (``drops``): then version + 1
  and no native id.

Then, after the turn under test and again after the next turn: **the server is never
ahead of the mirror**. The state the session's ``native_id`` names (an OpenAI
conversation, the Anthropic thread a reply id continues, a Gemini interaction chain)
holds exactly the mirrored texts, or the session holds no native id. OpenAI
conversations can be appended to, so no other conversation may survive there.

Faults the fakes inject (``_common`` and each ``_<adapter>_faults``): HTTP 429 with
``Retry-After``, 500, 503, Anthropic's 529, a 5xx reported inside a 200 stream,
timeouts before and after the server stored the turn, a refused connection and one
reset after the server stored the turn, a 200 that is not JSON or is JSON of the wrong
shape (the server having stored the turn), streams cut before any output, cut mid-way
(stored or not) and ending early, and server state lost before the turn or while a
retry waits.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import threadline as tl
from threadline import _concurrency
from threadline.providers.anthropic import AnthropicProvider
from threadline.providers.google import GoogleProvider
from threadline.providers.openai import OpenAIProvider
from threadline.testing import AnthropicFault, FakeAnthropic, FakeGemini, GeminiFault, sse_body

# The OpenAI fake lives with the provider tests (``openai_fake``); imported from there.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "providers"))

OK = None
RateLimit = tl.RateLimitError
Unavailable = tl.ProviderUnavailableError
Unreadable = tl.ProviderError
RETRY_AFTER = 7.0

# fmt: off
#  (fault,                   how,      with retries,  max_attempts=1, copy dropped on error)
COMMON = [
    ("429-retry-after",       "send",   OK,            RateLimit,      False),
    ("429-retry-after",       "stream", OK,            RateLimit,      False),
    ("500",                   "send",   OK,            Unavailable,    True),
    ("500",                   "stream", OK,            Unavailable,    True),
    ("503",                   "send",   OK,            Unavailable,    False),
    ("timeout",               "send",   OK,            Unavailable,    True),
    ("timeout-after-storing", "send",   OK,            Unavailable,    True),
    ("timeout-after-storing", "stream", OK,            Unavailable,    True),
    ("connection-refused",    "send",   OK,            Unavailable,    True),
    ("reset-after-storing",   "send",   OK,            Unavailable,    True),
    ("cut-before-output",     "stream", OK,            Unavailable,    True),
    ("cut-mid-stream-stored", "stream", Unavailable,   Unavailable,    True),
    ("ended-early",           "stream", Unavailable,   Unavailable,    True),
    ("lost-state",            "send",   OK,            OK,             False),
    ("lost-state",            "stream", OK,            OK,             False),
    ("lost-while-retrying",   "send",   OK,            Unavailable,    True),
]
TABLE = [
    *[("openai", *row) for row in COMMON],
    ("openai",    "5xx-event",             "stream", OK,          Unavailable, False),
    ("openai",    "cut-mid-stream",        "stream", Unavailable, Unavailable, True),
    ("openai",    "not-json",              "send",   OK,          Unreadable,  True),
    ("openai",    "not-json",              "stream", OK,          Unreadable,  True),
    ("openai",    "wrong-shape",           "send",   OK,          Unreadable,  True),
    ("openai",    "wrong-shape",           "stream", OK,          Unreadable,  True),
    *[("anthropic", *row) for row in COMMON],
    ("anthropic", "529",                   "send",   OK,          Unavailable, True),
    ("anthropic", "5xx-event",             "stream", OK,          Unavailable, True),
    ("anthropic", "cut-mid-stream",        "stream", Unavailable, Unavailable, True),
    # An unreadable reply is retryable for every adapter (docs/errors.md).
    ("anthropic", "not-json",              "send",   OK,          Unreadable,  True),
    ("anthropic", "not-json",              "stream", OK,          Unreadable,  True),
    ("anthropic", "wrong-shape",           "send",   OK,          Unreadable,  True),
    ("anthropic", "wrong-shape",           "stream", OK,          Unreadable,  True),
    # Gemini's fake stores an interaction before streaming it: every cut stream is stored.
    *[("google", *row) for row in COMMON],
    ("google",    "5xx-event",             "stream", OK,          Unavailable, False),
    ("google",    "not-json",              "send",   OK,          Unreadable,  True),
    ("google",    "not-json",              "stream", OK,          Unreadable,  True),
    ("google",    "wrong-shape",           "send",   OK,          Unreadable,  True),
    ("google",    "wrong-shape",           "stream", OK,          Unreadable,  True),
]
# fmt: on


def _common(fault: Any, before: int, mid: int) -> dict[str, list[Any]]:
    """The faults every fake injects the same way (``fault``: its fault class).
    ``before``/``mid``: events streamed before a cut that shows none of the reply's
    text yet, or some of it."""
    return {
        "429-retry-after": [fault(status=429, headers={"retry-after": "7"})],
        "500": [fault(status=500)],
        "503": [fault(status=503)],
        "529": [fault(status=529)],
        "timeout": [fault(timeout=True)],
        "timeout-after-storing": [fault(timeout_after_storing=True)],
        "connection-refused": [fault(connect_error=True)],
        "reset-after-storing": [fault(reset_after_storing=True)],
        "cut-before-output": [fault(cut_after_events=before)],
        "cut-mid-stream": [fault(cut_after_events=mid)],
        "cut-mid-stream-stored": [fault(cut_after_events=mid, store_anyway=True)],
        "ended-early": [fault(end_after_events=mid)],
        "lost-state": [],  # nothing fails: the state is gone before the turn
        "lost-while-retrying": [fault(timeout_after_storing=True)],
    }


def _openai_wrong_shape(response: dict[str, Any]) -> dict[str, Any]:
    return {**response, "output": "hello"}


def _openai_faults() -> dict[str, list[Any]]:
    from openai_fake import Fault  # a malformed reply is always stored first

    return {
        **_common(Fault, 2, 3),
        "5xx-event": [Fault(failed={"code": "server_error", "message": "The server had an error"})],
        "not-json": [Fault(malformed=b"<html>502 Bad Gateway</html>")],
        "not-json/stream": [Fault(malformed=b"event: response.created\ndata: {not json\n\n")],
        "wrong-shape": [Fault(malformed=_openai_wrong_shape)],  # streamed as response.completed
    }


def _anthropic_faults() -> dict[str, list[Any]]:
    def stored(body: bytes) -> list[Any]:
        return [AnthropicFault(body=body, store_anyway=True)]

    return {
        **_common(AnthropicFault, 3, 4),
        "5xx-event": [AnthropicFault(error_event_after=3)],  # overloaded_error
        "not-json": stored(b"<html>502 Bad Gateway</html>"),
        "not-json/stream": stored(b"event: message_start\ndata: {not json\n\n"),
        "wrong-shape": stored(b'{"type": "message"}'),
        "wrong-shape/stream": stored(sse_body([{"type": "message_start", "message": 5}])),
    }


def _google_faults() -> dict[str, list[Any]]:
    def stored(body: bytes) -> list[Any]:
        return [GeminiFault(body=body, store_anyway=True)]

    return {
        **_common(GeminiFault, 2, 3),
        "5xx-event": [GeminiFault(error_event_after=2)],  # INTERNAL
        "not-json": stored(b"<html>502 Bad Gateway</html>"),
        "not-json/stream": stored(b"data: {not json\n\n"),
        "wrong-shape": stored(b'{"id": "int_0099", "status": "completed", "steps": [5]}'),
        "wrong-shape/stream": stored(
            b'data: {"event_type": "step.delta", "index": 0, "delta": 5}\n\n'
        ),
    }


def _faults(adapter: str, fault: str, how: str) -> list[Any]:
    """What the fake does instead of answering the turn under test, one per request
    (a stream-only variant, ``fault/stream``, where the wire differs)."""
    faults = {"openai": _openai_faults, "anthropic": _anthropic_faults, "google": _google_faults}
    table = faults[adapter]()
    return table.get(f"{fault}/{how}", table[fault])


# -- the adapters -----------------------------------------------------------------------


@dataclass(frozen=True)
class Adapter:
    """One provider over its fake: how to build both, read and lose server state."""

    name: str
    fake: Callable[[], Any]
    provider: Callable[[Any, bool], Any]
    texts: Callable[[Any, str], list[str]]
    """The texts of the state a native id names (conversation, thread, chain)."""
    lose: Callable[[Any, str], None]
    """Make the server forget the state a native id names (expiry, deletion)."""
    leftovers: Callable[[Any], list[str]] | None = None
    """Every piece of server state a session may append to, where there is such."""


def _openai_fake() -> Any:
    from openai_fake import FakeOpenAI

    return FakeOpenAI()


def _forget(table: str) -> Callable[[Any, str], None]:
    def lose(fake: Any, handle: str) -> None:
        del getattr(fake, table)[handle]

    return lose


ADAPTERS = {
    "openai": Adapter(
        "openai",
        _openai_fake,
        lambda fake, sync: OpenAIProvider(client=fake.client(sync=sync)),
        lambda fake, conversation: [text for _, text in fake.texts(conversation)],
        _forget("conversations"),
        lambda fake: list(fake.conversations),
    ),
    "anthropic": Adapter(
        "anthropic",
        FakeAnthropic,
        lambda fake, sync: AnthropicProvider(client=fake.client(sync=sync)),
        lambda fake, reply_id: [text for _, text in fake.thread_texts(reply_id)],
        _forget("threads"),
    ),
    "google": Adapter(
        "google",
        FakeGemini,
        lambda fake, sync: GoogleProvider(client=fake.client()),
        lambda fake, interaction_id: fake.texts(interaction_id),
        _forget("interactions"),
    ),
}


# -- running a case on either face ------------------------------------------------------


async def _run(value: Any) -> Any:
    """The result of a call on either face: awaited, or an event stream read whole."""
    if hasattr(value, "__aiter__"):
        return [event async for event in value]
    if inspect.isawaitable(value):
        return await value
    if hasattr(value, "__next__"):
        return list(value)
    return value


def _texts(session: Any) -> list[str]:
    return [message.text for message in session.messages]


def _assert_server_not_ahead(adapter: Adapter, fake: Any, session: Any) -> None:
    """The server state the session points at holds exactly the mirror (or it points
    at none); no other appendable state survives."""
    if session.native_id is not None:
        assert adapter.texts(fake, session.native_id) == _texts(session)
    if adapter.leftovers is not None:
        expected = [] if session.native_id is None else [session.native_id]
        assert adapter.leftovers(fake) == expected


@pytest.fixture
def lose_while_retrying(
    monkeypatch: pytest.MonkeyPatch, no_sleep: list[float]
) -> Callable[[Callable[[], None]], None]:
    """``arm(action)``: the first retry wait runs ``action`` (server state expiring
    while the client backs off); waits are still recorded by ``no_sleep``."""
    armed: list[Callable[[], None]] = []
    asleep, sleep = _concurrency.asleep, _concurrency.sleep

    def expire() -> None:
        while armed:
            armed.pop()()

    async def fake_asleep(seconds: float) -> None:
        expire()
        await asleep(seconds)

    def fake_sleep(seconds: float) -> None:
        expire()
        sleep(seconds)

    monkeypatch.setattr(_concurrency, "asleep", fake_asleep)
    monkeypatch.setattr(_concurrency, "sleep", fake_sleep)
    return armed.append


def _cases() -> Iterator[Any]:
    for adapter, fault, how, retried, single, drops in TABLE:
        for face in ("async", "sync"):
            for outcome, expected in (("retried", retried), ("single", single)):
                name = "ok" if expected is None else expected.__name__
                yield pytest.param(
                    adapter,
                    fault,
                    how,
                    face,
                    outcome,
                    expected,
                    drops,
                    id=f"{adapter}-{fault}-{how}-{face}-{outcome}-{name}",
                )


@pytest.mark.parametrize(
    ("adapter_name", "fault", "how", "face", "outcome", "expected", "drops"), list(_cases())
)
async def test_fault_matrix(
    adapter_name: str,
    fault: str,
    how: str,
    face: str,
    outcome: str,
    expected: type[tl.ProviderError] | None,
    drops: bool,
    no_sleep: list[float],
    lose_while_retrying: Any,
) -> None:
    adapter = ADAPTERS[adapter_name]
    fake = adapter.fake()
    sync = face == "sync"
    retry = tl.RetryPolicy(
        max_attempts=4 if outcome == "retried" else 1, initial_backoff=0, max_backoff=30
    )
    options: dict[str, Any] = {"providers": [adapter.provider(fake, sync)], "retry": retry}
    manager = (
        tl.SessionManager("memory://", **options)
        if sync
        else tl.AsyncSessionManager("memory://", **options)
    )
    try:
        s = await _run(manager.create(provider=adapter.name))
        await _run(s.send("first"))
        before = (s.version, s.native_id, [m.id for m in s.messages])
        assert before[1] is not None
        _assert_server_not_ahead(adapter, fake, s)

        faults = _faults(adapter.name, fault, how)
        fake.faults = list(faults)
        if fault == "lost-state":
            adapter.lose(fake, before[1])
        elif fault == "lost-while-retrying":
            lose_while_retrying(lambda: adapter.lose(fake, before[1]))
        turn = s.stream if how == "stream" else s.send

        if expected is None:
            result = await _run(turn("second"))
            if how == "stream":
                assert "".join(e.text for e in result if e.type == "text") == "re: second"
                assert result[-1].type == "done"
                result = result[-1].message
            assert result.text == "re: second"
            assert _texts(s) == ["first", "re: first", "second", "re: second"]
            assert s.version == before[0] + 1
            assert s.native_id is not None
            waits = [RETRY_AFTER if fault.startswith("429") else 0.0] * len(faults)
            assert no_sleep == waits
        else:
            with pytest.raises(tl.ProviderError) as caught:
                await _run(turn("second"))
            error = caught.value
            assert type(error) is expected
            assert error.provider == adapter.name and error.ambiguous is drops
            assert error.__cause__ is None
            assert [m.id for m in s.messages] == before[2]
            assert no_sleep == []
            if drops:
                assert s.native_id is None and s.version == before[0] + 1
            else:
                assert (s.version, s.native_id) == before[:2]

        # The store agrees with the handle: nothing half-written, nothing duplicated.
        stored = await _run(manager.get(s.id))
        assert (stored.version, stored.native_id) == (s.version, s.native_id)
        assert [m.id for m in stored.messages] == [m.id for m in s.messages]
        _assert_server_not_ahead(adapter, fake, s)

        # The next turn continues from (or re-seeds) exactly the mirror.
        fake.faults = []
        await _run(s.send("third"))
        mirrored = ["first", "re: first"]
        if expected is None:
            mirrored += ["second", "re: second"]
        assert _texts(s) == [*mirrored, "third", "re: third"]
        _assert_server_not_ahead(adapter, fake, s)
    finally:
        await _run(manager.close())
