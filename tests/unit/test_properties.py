"""Property-based checks of the data model and of id validation (hypothesis)."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

import threadline as tl
from threadline._ids import MAX_ID_LENGTH, new_id, validate_id
from threadline.messages import messages_from_json

json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=3)

parts = st.one_of(
    st.builds(tl.TextPart, text=st.text()),
    st.builds(
        tl.ImagePart,
        data=st.binary(max_size=64),
        media_type=st.sampled_from(["image/png", "image/jpeg"]),
        detail=st.sampled_from([None, "low", "high"]),
    ),
    st.builds(tl.ImagePart, url=st.just("https://example.com/a.png")),
    st.builds(
        tl.FilePart,
        file_id=st.text(min_size=1, max_size=10),
        filename=st.none() | st.text(max_size=10),
    ),
    st.builds(
        tl.ToolCallPart,
        call_id=st.text(min_size=1, max_size=12),
        name=st.text(min_size=1, max_size=12),
        arguments=json_objects,
    ),
    st.builds(
        tl.ToolResult,
        call_id=st.text(min_size=1, max_size=12),
        output=json_values,
        is_error=st.booleans(),
    ),
    st.builds(
        tl.ProviderPart,
        provider=st.sampled_from(["openai", "anthropic"]),
        kind=st.text(min_size=1, max_size=10),
        data=json_objects,
    ),
)

messages = st.builds(
    tl.Message,
    role=st.sampled_from(["system", "user", "assistant", "tool"]),
    parts=st.lists(parts, max_size=4),
    created_at=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    usage=st.none()
    | st.builds(
        tl.Usage,
        input_tokens=st.integers(0, 10**9),
        output_tokens=st.integers(0, 10**9),
        cached_input_tokens=st.integers(0, 10**9),
    ),
    provider_id=st.none() | st.text(max_size=20),
    metadata=json_objects,
)


@given(messages)
def test_message_json_round_trip(message: tl.Message) -> None:
    """Any message survives JSON unchanged, alone and through the batch parser."""
    text = message.model_dump_json()
    assert tl.Message.model_validate_json(text) == message
    assert messages_from_json([text, text]) == [message, message]


@given(
    st.datetimes(
        timezones=st.builds(
            timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
        )
    )
)
def test_timestamps_are_stored_as_utc(when: datetime) -> None:
    message = tl.Message.user("x", created_at=when)
    assert message.created_at.utcoffset() is not None
    assert message.created_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert message.created_at == when


SAFE = string.ascii_letters + string.digits + "_.:@+=-"


@given(st.text(alphabet=SAFE, min_size=1, max_size=MAX_ID_LENGTH))
def test_safe_ids_are_accepted_exactly_when_well_formed(candidate: str) -> None:
    well_formed = candidate[0].isalnum() and ".." not in candidate
    try:
        assert validate_id(candidate) == candidate
        accepted = True
    except tl.ValidationError:
        accepted = False
    assert accepted == well_formed


@given(st.text(min_size=1, max_size=200))
def test_accepted_ids_never_hold_path_or_control_characters(candidate: str) -> None:
    try:
        validate_id(candidate)
    except tl.ValidationError:
        return
    assert len(candidate) <= MAX_ID_LENGTH
    assert not set(candidate) & set("/\\\x00\n\r\t ")
    assert ".." not in candidate
    assert all(c.isprintable() and c.isascii() for c in candidate)


def test_generated_ids_sort_by_creation_and_validate() -> None:
    ids = [new_id("ses") for _ in range(2000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"ses_[0-9a-z]{26}", i) and validate_id(i) for i in ids)
