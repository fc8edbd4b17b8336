"""The data model: messages and their parts, usage, session summaries, checkpoints.

Every model is pydantic v2 and round-trips through JSON unchanged. Parts form one
discriminated union on ``type``; its shapes follow the OpenTelemetry GenAI message
parts (``text``, ``tool_call``, ``tool_call_response``...) closely enough that telemetry
and each provider's wire format are straight translations.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    field_serializer,
    field_validator,
)
from pydantic import ValidationError as PydanticValidationError

from ._ids import new_id
from .errors import ValidationError

__all__ = [
    "Checkpoint",
    "FilePart",
    "ImagePart",
    "Message",
    "Part",
    "ProviderPart",
    "Role",
    "SessionInfo",
    "SessionStatus",
    "TextPart",
    "Tool",
    "ToolCallPart",
    "ToolResult",
    "Usage",
]

Role = Literal["system", "user", "assistant", "tool"]


def utcnow() -> datetime:
    return datetime.now(UTC)


def _as_utc(value: datetime) -> datetime:
    # Naive datetimes are taken to be UTC; aware ones are converted to it.
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # a ValueError, so a pydantic validator reports it too
        raise ValidationError(f"{value.isoformat()} is out of range once in UTC") from None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class TextPart(_Model):
    """Plain text."""

    type: Literal["text"] = "text"
    text: str


class _BinaryPart(_Model):
    url: str | None = None
    data: bytes | None = None
    media_type: str | None = None

    @field_serializer("data", when_used="json")
    def _data_b64(self, data: bytes | None) -> str | None:
        return None if data is None else base64.b64encode(data).decode("ascii")

    @field_validator("data", mode="before")
    @classmethod
    def _data_from_b64(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return base64.b64decode(value, validate=True)
            except ValueError as exc:
                raise ValueError("data must be bytes or base64 text") from exc
        return value

    def data_url(self) -> str:
        """The part as a URL: its own ``url``, or a ``data:`` URL of its bytes."""
        if self.url is not None:
            return self.url
        assert self.data is not None
        encoded = base64.b64encode(self.data).decode("ascii")
        return f"data:{self.media_type or 'application/octet-stream'};base64,{encoded}"


class ImagePart(_BinaryPart):
    """An image, by URL or inline bytes (``media_type`` such as ``image/png``)."""

    type: Literal["image"] = "image"
    detail: Literal["auto", "low", "high"] | None = None


class FilePart(_BinaryPart):
    """A document, by URL, inline bytes, or a provider file id."""

    type: Literal["file"] = "file"
    file_id: str | None = None
    filename: str | None = None


class ToolCallPart(_Model):
    """The model asks the caller to run tool ``name`` with ``arguments``."""

    type: Literal["tool_call"] = "tool_call"
    call_id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ToolResult(_Model):
    """The caller's answer to a `ToolCallPart`, matched by ``call_id``."""

    type: Literal["tool_result"] = "tool_result"
    call_id: str
    output: Any = None
    is_error: bool = False

    def output_text(self) -> str:
        """The output as the text providers expect (JSON unless it already is text)."""
        return self.output if isinstance(self.output, str) else json.dumps(self.output)


class ProviderPart(_Model):
    """Provider-only content (reasoning items, encrypted compaction blocks).

    It round-trips to the provider named in ``provider`` and is skipped for any other.
    """

    type: Literal["provider"] = "provider"
    provider: str
    kind: str
    data: dict[str, Any] = Field(default_factory=dict)


Part = Annotated[
    TextPart | ImagePart | FilePart | ToolCallPart | ToolResult | ProviderPart,
    Field(discriminator="type"),
]


class Usage(_Model):
    """Token counts. ``input_tokens`` includes ``cached_input_tokens`` (read from a
    prompt cache) and ``cache_write_tokens`` (written to one, where a provider bills
    that separately, as Anthropic does)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cached_input_tokens=self.cached_input_tokens + other.cached_input_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
        )


class Message(_Model):
    """One message of a conversation, as mirrored in the store."""

    id: str = Field(default_factory=lambda: new_id("msg"))
    role: Role
    parts: list[Part] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)
    usage: Usage | None = None
    provider_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def text(self) -> str:
        """The text parts joined together (empty if there are none)."""
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))

    @property
    def tool_calls(self) -> list[ToolCallPart]:
        return [p for p in self.parts if isinstance(p, ToolCallPart)]

    def in_utc(self) -> Message:
        """This message with ``created_at`` in UTC (a copy only if it was not).

        Timestamps threadline makes are UTC. The model itself does not convert (a
        Python validator, or a custom ``__init__``, would run for every message parsed
        from a store and double the cost of loading a history); every way a message
        enters a session or a document calls this instead.
        """
        when = self.created_at
        if when.tzinfo is not None and not when.utcoffset():
            return self
        return self.model_copy(update={"created_at": _as_utc(when)})

    @classmethod
    def user(cls, text: str, **fields: Any) -> Message:
        return cls(role="user", parts=[TextPart(text=text)], **fields).in_utc()

    @classmethod
    def assistant(cls, text: str, **fields: Any) -> Message:
        return cls(role="assistant", parts=[TextPart(text=text)], **fields).in_utc()

    def __str__(self) -> str:
        return f"{self.role}: {self.text}"

    def _repr_html_(self) -> str:
        from ._display import messages_html

        return messages_html([self])


class Tool(_Model):
    """A function the model may call: a name, a description and a JSON schema."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class SessionStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ARCHIVED = "archived"
    EXPIRED = "expired"


class Checkpoint(_Model):
    """A named point in a session's history that ``restore`` returns to."""

    id: str = Field(default_factory=lambda: new_id("cp"))
    label: str | None = None
    message_count: int
    created_at: datetime = Field(default_factory=utcnow)

    _utc = field_validator("created_at")(lambda cls, v: _as_utc(v))


class SessionInfo(_Model):
    """One row of ``manager.list()``: a session without its messages."""

    id: str
    user: str | None
    provider: str
    model: str
    status: SessionStatus
    mode: Literal["native", "local"]
    created_at: datetime
    updated_at: datetime
    message_count: int
    metadata: dict[str, Any] = Field(default_factory=dict)
    parent_id: str | None = None
    expires_at: datetime | None = None


# Built on first use, like the models (defer_build): importing threadline builds no schema.
_deferred = ConfigDict(defer_build=True)
_messages_adapter: TypeAdapter[list[Message]] = TypeAdapter(list[Message], config=_deferred)
_parts_adapter: TypeAdapter[list[Part]] = TypeAdapter(list[Part], config=_deferred)


def messages_from_json(rows: Sequence[str | bytes]) -> list[Message]:
    """Parse many stored message documents in one validation call."""
    if not rows:
        return []
    if all(isinstance(r, str) for r in rows):
        # One str join (no per-row encode); pydantic-core takes the text as it is.
        return _messages_adapter.validate_json("[" + ",".join(rows) + "]")  # type: ignore[arg-type]
    joined = b",".join(r.encode() if isinstance(r, str) else r for r in rows)
    return _messages_adapter.validate_json(b"[" + joined + b"]")


SendInput = str | Message | Part | Sequence[str | Part]


def to_input_message(content: SendInput) -> Message:
    """Turn what ``send()`` accepts into the one message this turn adds.

    A `ToolResult` (or a list of them) becomes a ``tool`` message; anything else a
    ``user`` message. Empty input is refused.
    """
    if content is None or isinstance(content, bytes | int | float):
        raise TypeError(
            "send() takes a str, a tl.Message, a part (tl.TextPart, tl.ImagePart, "
            f"tl.ToolResult...) or a list of them, not {type(content).__name__}"
        )
    if isinstance(content, Mapping) and "role" in content:
        raise TypeError(
            "send() takes message parts, not a message dict: pass tl.Message(role=..., "
            "parts=[...]) or just the text"
        )
    if isinstance(content, Message):
        if content.role not in ("user", "tool"):
            raise ValidationError(f"send() takes user or tool messages, not {content.role!r}")
        message = content.in_utc()
    else:
        # A single part may come as a model or as a plain dict.
        if isinstance(content, str | BaseModel | Mapping):
            items: Sequence[object] = [content]
        else:
            try:
                items = list(content)
            except TypeError:
                raise TypeError(
                    f"send() takes a str, a tl.Message, a part or a list of them, not "
                    f"{type(content).__name__}"
                ) from None
        parts: list[Part] = []
        for item in items:
            if isinstance(item, str):
                parts.append(TextPart(text=item))
            elif isinstance(item, Mapping):
                try:
                    parts.extend(_parts_adapter.validate_python([item]))
                except PydanticValidationError as exc:
                    raise ValidationError(f"not a message part: {exc.errors()[0]['msg']}") from exc
            elif isinstance(
                item, TextPart | ImagePart | FilePart | ToolCallPart | ToolResult | ProviderPart
            ):
                parts.append(item)
            else:
                raise TypeError(
                    f"send() cannot take a {type(item).__name__}: pass str or message parts"
                )
        results = [p for p in parts if isinstance(p, ToolResult)]
        if results and len(results) != len(parts):
            raise ValidationError("tool results cannot be mixed with other parts")
        message = Message(role="tool" if results else "user", parts=parts)
    if not message.parts or all(isinstance(p, TextPart) and not p.text for p in message.parts):
        raise ValidationError("send() needs some content")
    return message
