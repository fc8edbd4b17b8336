"""Errors name what went wrong, in full: the exact message and the attributes code may
match on (``session_id``, ``status``, ``operation``), for ids, lifecycle refusals and
closed stores."""

from __future__ import annotations

import pytest

import threadline as tl
from threadline.stores import AsyncMemoryStore

RULE = (
    r"may only hold letters, digits and _ \. : @ \+ = - \(starting with a letter or digit,"
    r" no '\.\.'\)$"
)


async def test_an_id_that_is_not_a_string_says_what_it_was() -> None:
    async with tl.AsyncSessionManager("memory://") as manager:
        with pytest.raises(tl.ValidationError, match=r"^session id must be a string, not int$"):
            await manager.get(123)  # type: ignore[arg-type]
        with pytest.raises(tl.ValidationError, match=r"^user must be a string, not bytes$"):
            await manager.list(user=b"ann")  # type: ignore[arg-type]


async def test_a_bad_id_is_quoted_up_to_40_characters() -> None:
    bad = "a/" + "b" * 60
    async with tl.AsyncSessionManager("memory://") as manager:
        with pytest.raises(tl.ValidationError) as caught:
            await manager.get(bad)
    quoted = repr(bad[:40])
    assert str(caught.value).startswith(f"session id {quoted} may only hold")
    assert str(caught.value) == (
        f"session id {quoted} may only hold letters, digits and _ . : @ + = - "
        "(starting with a letter or digit, no '..')"
    )
    with pytest.raises(tl.ValidationError, match=f"^user 'a b' {RULE}"):
        async with tl.AsyncSessionManager("memory://") as manager:
            await manager.create(user="a b")


async def test_every_lifecycle_refusal_names_the_session_status_and_operation() -> None:
    async with tl.AsyncSessionManager("memory://") as manager:
        session = await manager.create()
        await session.checkpoint("start")
        await session.complete()
        refusals = [
            (session.pause, "pause"),
            (session.resume, "resume"),
            (lambda: session.restore("start"), "restore"),
            (lambda: session.send("hi"), "send"),
        ]
        for call, operation in refusals:
            with pytest.raises(tl.InvalidTransitionError) as caught:
                await call()
            assert (
                str(caught.value) == f"cannot {operation} session {session.id!r}: it is completed"
            )
            error = caught.value
            assert (error.session_id, error.status, error.operation) == (
                session.id,
                "completed",
                operation,
            )


async def test_a_closed_memory_store_says_so() -> None:
    store = AsyncMemoryStore()
    await store.close()
    with pytest.raises(tl.StoreError, match=r"^the memory store is closed$"):
        await store.read_messages("ses_a")


def test_a_generated_id_carries_its_millisecond_timestamp(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ULID layout: the first 10 of the 26 base32 digits are the creation time in
    milliseconds, so ids sort by time as plain strings."""
    from threadline import _ids

    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    when_ms = 4_102_444_800_123  # 2100-01-01T00:00:00.123Z: later than any id made so far
    monkeypatch.setattr(_ids, "_last_ms", _ids._last_ms)
    monkeypatch.setattr(_ids, "_last_random", _ids._last_random)
    monkeypatch.setattr(_ids.time, "time_ns", lambda: when_ms * 1_000_000 + 456_789)
    first, second = _ids.new_id("ses"), _ids.new_id("ses")
    for made in (first, second):
        prefix, _, body = made.partition("_")
        value = 0
        for digit in body:
            value = value * 32 + alphabet.index(digit)
        assert (prefix, len(body), value >> 80) == ("ses", 26, when_ms)
    assert first < second  # same millisecond: counted up, still in order


def test_a_new_milliseconds_id_draws_79_random_bits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Below the timestamp, 80 bits: a fresh random draw with the top bit clear (room to
    count up within a millisecond). Over 64 ids made in 64 milliseconds the next bit is
    set at least once (a false failure has probability 2**-64)."""
    from threadline import _ids

    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    clock = iter(range(4_102_444_800_000, 4_102_444_800_064))
    monkeypatch.setattr(_ids, "_last_ms", _ids._last_ms)
    monkeypatch.setattr(_ids, "_last_random", _ids._last_random)
    monkeypatch.setattr(_ids.time, "time_ns", lambda: next(clock) * 1_000_000)
    draws = []
    for _ in range(64):
        value = 0
        for digit in _ids.new_id("x").partition("_")[2]:
            value = value * 32 + alphabet.index(digit)
        draws.append(value & ((1 << 80) - 1))
    assert all(d >> 79 == 0 for d in draws)
    assert any(d >> 78 for d in draws)
    assert len(set(draws)) == 64
