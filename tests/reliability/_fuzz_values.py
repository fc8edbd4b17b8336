"""Hypothesis strategies for `test_fuzz_api.py`: nasty values of the right type, and
values of the wrong type.

An argument strategy draws ``(value, typed)``: ``typed`` is False when the value is
not of a type the public signature accepts, the only case where a `TypeError` may
escape. Right-typed values are meant to hurt: lone surrogates and control characters,
text past the size limits, ids that are almost valid, huge and negative numbers,
non-finite floats, JSON nested past any sane depth, dict keys that are not strings,
values that are not JSON at all, datetimes at the ends of the calendar.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

import threadline as tl

Arg = tuple[Any, bool]

# -- text and ids ----------------------------------------------------------------------

ANY_CHAR = st.characters(exclude_categories=())  # surrogates included


class LongText(str):
    """Text one character longer than any text field may hold, with a short repr."""

    def __repr__(self) -> str:
        return f"<{len(self)} characters>"


HUGE_TEXT = LongText("x" * 1_000_001)
NASTY_STRINGS = [
    "",
    " ",
    "\x00",
    "\ud800",
    "ok \udfff tail",
    "\u202eevil",
    "..",
    "../../etc/passwd",
    "a/b",
    "'; DROP TABLE sessions; --",
    "%s%n{0}",
    "\n\r\t",
    "🙂" * 3,
    "١٢٣",  # digits, but not ASCII ones
    "a" * 128,
    "a" * 129,
    "9999-12-31T23:00:00-05:00",  # a timestamp past year 9999 in UTC
    "0001-01-01T00:00:00+05:00",
]


def huge_text() -> str:
    return HUGE_TEXT


texts = st.one_of(
    st.text(ANY_CHAR, max_size=12),
    st.text(max_size=8),
    st.sampled_from(NASTY_STRINGS),
    st.builds(huge_text),  # built, so that reprs of strategies stay short
)
ids = st.one_of(
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:@+=-]{0,20}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9_.:@+=/\\ -]{0,6}", fullmatch=True),
    st.sampled_from(["ses_x", "a" * 128, "a..b", "-lead", "A:b@c+d=e-f.g_h", "x" * 129]),
    texts,
)

# -- numbers and JSON --------------------------------------------------------------------

big_ints = st.one_of(
    st.integers(-(2**80), 2**80),
    st.sampled_from([0, -1, 2**31, 2**63 - 1, 2**63, -(2**63) - 1, 10**30]),
)
floats = st.floats(allow_nan=True, allow_infinity=True)
scalars = st.one_of(st.none(), st.booleans(), big_ints, floats, texts)


class DeepDict(dict[str, Any]):
    """Nested ``depth`` levels; its repr stays short in hypothesis' reports."""

    def __repr__(self) -> str:
        return f"<dict nested {self.depth} deep>"

    depth = 0


class DeepList(list[Any]):
    def __repr__(self) -> str:
        return f"<list nested {self.depth} deep>"

    depth = 0


def nested(depth: int, kind: str) -> Any:
    value: Any = "bottom"
    for _ in range(depth - 1):
        value = {"k": value} if kind == "dict" else [value]
    top = DeepDict(k=value) if kind == "dict" else DeepList([value])
    top.depth = depth
    return top


deep_dicts = st.builds(nested, st.integers(60, 1200), st.just("dict"))
deep = deep_dicts | st.builds(nested, st.integers(60, 1200), st.just("list"))
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=5,
)
# Right-typed for a ``dict[str, Any]`` or ``Any`` field, and still not JSON.
NOT_JSON = [object(), {1, 2}, b"bytes", 1j, Decimal("1.5"), date(2024, 1, 1), (1, 2)]
odd_objects = st.dictionaries(
    st.one_of(texts, big_ints, st.none(), st.tuples(st.integers())),
    st.one_of(json_values, st.sampled_from(NOT_JSON), deep),
    max_size=3,
)
any_values = st.one_of(json_values, deep, st.sampled_from(NOT_JSON), odd_objects)
# For a ``dict[str, Any]`` model field (str keys, as pydantic insists)...
str_objects = st.one_of(st.dictionaries(texts, any_values, max_size=4), deep_dicts)
# ...and for a plain ``dict`` argument, whose keys may be anything.
objects = st.one_of(str_objects, odd_objects)

# -- datetimes ---------------------------------------------------------------------------

offsets = st.builds(
    timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
)
# Any datetime a model accepts; a `Checkpoint` (which converts to UTC as it is built)
# refuses those that leave the calendar in UTC.
checkpoint_datetimes = st.one_of(
    st.datetimes(timezones=st.none() | st.just(UTC)),
    st.sampled_from([datetime.min, datetime.max]),
)
datetimes = st.one_of(
    checkpoint_datetimes,
    st.datetimes(timezones=offsets),
    st.sampled_from(
        [  # past the calendar's ends once converted to UTC
            datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))),
            datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))),
        ]
    ),
)
durations = st.one_of(
    st.timedeltas(),
    st.sampled_from(
        [timedelta.max, timedelta.min, timedelta(0), timedelta(microseconds=1), -timedelta(1)]
    ),
)

# -- the wrong Python types ------------------------------------------------------------------

WRONG_FOR_TEXT = [0, 1.5, b"echo", ["a"], {"a": 1}, object(), True]


def typed(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Arg]:
    return strategy.map(lambda v: (v, True))


def wrong(values: list[Any]) -> st.SearchStrategy[Arg]:
    return st.sampled_from(values).map(lambda v: (v, False))


def arg(right: st.SearchStrategy[Any], wrong_values: list[Any]) -> st.SearchStrategy[Arg]:
    """Mostly right-typed values, sometimes a wrong type."""
    return st.one_of(typed(right), typed(right), typed(right), wrong(wrong_values))


def text_arg(optional: bool = True) -> st.SearchStrategy[Arg]:
    right = texts | st.none() if optional else texts
    return arg(right, WRONG_FOR_TEXT if optional else [*WRONG_FOR_TEXT, None])


# -- values taken from the world when the call is made ---------------------------------


class Known:
    """The ``index``-th thing of a ``kind`` the world holds when the call is made: a
    session id, a checkpoint (or its id or label), the tool results that answer the
    target's waiting calls, a real list cursor. Strategies are built once, so they
    cannot hold the world's ids themselves."""

    def __init__(self, kind: str, index: int = 0) -> None:
        self.kind = kind
        self.index = index

    def __repr__(self) -> str:
        return f"Known({self.kind!r}, {self.index})"


# The call id of a `ToolResult` drawn with it is replaced by the target's first
# waiting call when the call is made.
PENDING = "pending-call"


def known(kind: str) -> st.SearchStrategy[Known]:
    return st.builds(Known, st.just(kind), st.integers(0, 31))


users = st.sampled_from(["alice", "bob"]) | ids
user_arg = arg(users | st.none(), WRONG_FOR_TEXT)
session_id_arg = arg(ids | known("session") | known("session"), [*WRONG_FOR_TEXT, None])
new_session_id_arg = arg(st.none() | ids | known("session"), WRONG_FOR_TEXT)
metadata_arg = arg(
    st.none() | objects,
    [
        "team=a",
        0,
        ["a", 1],
        object(),
        b"x",
    ],
)
ttl_arg = arg(st.none() | durations, [60, 1.5, "1h", object(), True])
mode_arg = arg(
    st.sampled_from(["native", "local", "", "NATIVE", "both"]) | texts | st.none(),
    [
        1,
        True,
        b"native",
    ],
)
provider_arg = arg(
    st.sampled_from(["echo", "echo", "nope", "ECHO", ""]) | texts,
    [
        *WRONG_FOR_TEXT,
        None,
    ],
)

# -- message content -------------------------------------------------------------------

binary_parts = st.one_of(
    st.builds(
        tl.ImagePart,
        url=st.none() | texts,
        data=st.none() | st.binary(max_size=16),
        media_type=st.none() | texts,
        detail=st.sampled_from([None, "auto", "low", "high"]),
    ),
    st.builds(
        tl.FilePart,
        url=st.none() | texts,
        data=st.none() | st.binary(max_size=16),
        file_id=st.none() | texts,
        filename=st.none() | texts,
    ),
)


tool_results = st.builds(
    tl.ToolResult,
    call_id=st.just(PENDING) | st.just(PENDING) | texts,
    output=any_values,
    is_error=st.booleans(),
)
model_parts = st.one_of(
    st.builds(tl.TextPart, text=texts),
    binary_parts,
    st.builds(tl.ToolCallPart, call_id=texts, name=texts, arguments=str_objects),
    tool_results,
    st.builds(tl.ProviderPart, provider=texts, kind=texts, data=str_objects),
)
parts = st.one_of(
    model_parts,
    # plain dicts are accepted as parts
    st.fixed_dictionaries({"type": st.just("text"), "text": texts}),
    st.fixed_dictionaries(
        {"type": st.just("tool_result"), "call_id": st.just(PENDING) | texts, "output": any_values}
    ),
    st.dictionaries(texts, json_values, max_size=3),
)
messages = st.builds(
    tl.Message,
    id=ids,
    role=st.sampled_from(["user", "tool", "assistant", "system"]),
    parts=st.lists(model_parts, max_size=3),
    created_at=datetimes,
    usage=st.none()
    | st.builds(
        tl.Usage, input_tokens=big_ints, output_tokens=big_ints, cached_input_tokens=big_ints
    ),
    provider_id=st.none() | texts,
    metadata=str_objects,
)
# What send() and stream() take: text, a message, a part or a list of them.
content_arg = arg(
    st.one_of(
        texts,
        texts,
        messages,
        parts,
        st.lists(st.one_of(texts, parts), max_size=4),
        tool_results,
        known("answers"),  # the tool results the target waits for
        known("answers"),
    ),
    [None, 0, 1.5, b"hello", object(), {"role": "user", "content": "hi"}, [1, 2], [None], [["x"]]],
)

tools = st.one_of(
    st.builds(tl.Tool, name=texts, description=texts, parameters=str_objects),
    st.fixed_dictionaries({"name": texts}, optional={"description": texts, "parameters": objects}),
    st.dictionaries(texts, json_values, max_size=3),
)
tools_arg = arg(
    st.none() | st.lists(tools, max_size=3),
    [
        "search",
        5,
        {"name": "x"},
        tl.Tool(name="x"),
        [5],
        [None],
    ],
)

# -- checkpoints ---------------------------------------------------------------------

fake_checkpoints = st.builds(
    tl.Checkpoint,
    id=ids,
    label=st.none() | texts,
    message_count=big_ints,
    created_at=checkpoint_datetimes,
)


checkpoint_arg = arg(
    st.one_of(
        fake_checkpoints,
        texts,
        known("checkpoint"),
        known("checkpoint"),
        known("checkpoint_id"),
        known("label"),
    ),
    [None, 3, 1.5, b"cp", object(), {"id": "x"}],
)


# -- export documents ------------------------------------------------------------------


@st.composite
def mutated(draw: st.DrawFn, document: dict[str, Any]) -> Any:
    """``document`` with one to three changes anywhere in its tree: a value replaced
    by a nasty one, a key removed or added."""
    if draw(st.integers(0, 9)) == 0:
        return draw(any_values)  # not a document at all
    doc = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, 3))):
        node: Any = doc
        while True:
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            if not keys:
                break
            key = draw(st.sampled_from(keys))
            child = node[key]
            if isinstance(child, dict | list) and child and draw(st.integers(0, 3)):
                node = child
                continue
            action = draw(st.sampled_from(["set", "set", "delete", "add"]))
            if action == "set":
                node[key] = draw(any_values)
            elif action == "delete":
                del node[key]
            elif isinstance(node, dict):
                node[draw(texts)] = draw(any_values)
            else:
                node.append(draw(any_values))
            break
    return doc


def opt(**strategies: st.SearchStrategy[Arg]) -> st.SearchStrategy[dict[str, Arg]]:
    """Keyword arguments, each present or left out."""
    return st.fixed_dictionaries({}, optional=strategies)


Draw = Callable[[st.SearchStrategy[Any]], Any]
