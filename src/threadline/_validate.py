"""Checks every public entry runs on its arguments before anything is written.

Shared by both faces: bad input raises `ValidationError` (or `ConfigurationError` for
a provider that cannot do what is asked) with a message that says what to change.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticSerializationError

from ._ids import validate_id
from ._records import Mode
from .errors import ConfigurationError, ValidationError
from .messages import Message, ProviderPart, Tool, ToolCallPart, ToolResult
from .providers import Provider

__all__ = [
    "MAX_JSON_DEPTH",
    "MAX_METADATA_BYTES",
    "ToolsArg",
    "as_tools",
    "check_message",
    "check_metadata",
    "check_providers",
    "check_text",
    "check_ttl",
    "expiry",
    "mode_for",
    "pending_calls",
    "user_id",
]

MAX_METADATA_BYTES = 64 * 1024
MAX_JSON_DEPTH = 64
MAX_TEXT_CHARS = 1_000_000
MAX_MESSAGE_BYTES = 32 * 1024 * 1024

ToolsArg = Sequence[Tool | dict[str, Any]] | None


def check_text(
    value: object, what: str, *, optional: bool = False, max_chars: int = MAX_TEXT_CHARS
) -> str | None:
    """``value`` if it is text a store can keep: a str with no lone surrogates."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        expected = "a str or None" if optional else "a str"
        raise TypeError(f"{what} must be {expected}, not {type(value).__name__}")
    if len(value) > max_chars:
        raise ValidationError(f"{what} is longer than {max_chars} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            f"{what} is not valid Unicode text (it holds a lone surrogate)"
        ) from None
    return value


def _check_json(value: object, what: str, depth: int, max_chars: int = MAX_TEXT_CHARS) -> None:
    """JSON values only (str keys, finite numbers), no deeper than `MAX_JSON_DEPTH`,
    valid Unicode."""
    if depth > MAX_JSON_DEPTH:
        raise ValidationError(f"{what} is nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, str):
        check_text(value, what, max_chars=max_chars)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError(f"{what} keys must be strings, not {type(key).__name__}")
            check_text(key, what, max_chars=max_chars)
            _check_json(item, what, depth + 1, max_chars)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_json(item, what, depth + 1, max_chars)
    elif isinstance(value, float) and not math.isfinite(value):
        # JSON has no NaN or Infinity: stores would keep null, silently.
        raise ValidationError(f"{what} must be JSON: {value!r} is not a JSON number")
    elif value is not None and not isinstance(value, bool | int | float):
        raise ValidationError(f"{what} must be JSON: {type(value).__name__} is not")


def check_metadata(metadata: object) -> dict[str, Any]:
    """A copy of ``metadata``, refused if it is not a JSON object or too large."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise TypeError(f"metadata must be a dict, not {type(metadata).__name__}")
    _check_json(metadata, "metadata", 0)
    copy = dict(metadata)
    try:
        size = len(json.dumps(copy))
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"metadata must be JSON-serialisable: {exc}") from None
    if size > MAX_METADATA_BYTES:
        raise ValidationError(f"metadata is {size} bytes; the limit is {MAX_METADATA_BYTES}")
    return copy


def check_message(message: Message) -> int:
    """The size of ``message`` as stored, or `ValidationError` if a store could not
    keep it and read it back: text that is not valid Unicode, or a tool result, tool
    call, provider part or metadata that is not JSON or is nested deeper than
    `MAX_JSON_DEPTH` (pydantic writes JSON deeper than it reads back)."""
    try:
        size = len(message.model_dump_json())
    except PydanticSerializationError:
        raise ValidationError(
            "the message cannot be stored: its text is not valid Unicode, or a tool "
            "result's output is not JSON"
        ) from None
    _check_json(message.metadata, "message metadata", 0, MAX_MESSAGE_BYTES)
    for part in message.parts:
        if isinstance(part, ToolResult):
            _check_json(part.output, "tool result output", 0, MAX_MESSAGE_BYTES)
        elif isinstance(part, ToolCallPart):
            _check_json(part.arguments, "tool call arguments", 0, MAX_MESSAGE_BYTES)
        elif isinstance(part, ProviderPart):
            _check_json(part.data, "provider part data", 0, MAX_MESSAGE_BYTES)
    return size


def check_ttl(ttl: object, what: str = "ttl") -> timedelta | None:
    """A positive `timedelta` (or None)."""
    if ttl is None:
        return None
    if not isinstance(ttl, timedelta):
        raise TypeError(f"{what} must be a datetime.timedelta, not {type(ttl).__name__}")
    if ttl.total_seconds() <= 0:
        raise ValidationError(f"{what} must be positive")
    return ttl


def expiry(now: datetime, seconds: float | None) -> datetime | None:
    """When a session written ``now`` expires, or `ValidationError` past year 9999."""
    if seconds is None:
        return None
    try:
        return now + timedelta(seconds=seconds)
    except OverflowError:
        raise ValidationError("ttl is too long: the session would expire after year 9999") from None


def check_providers(providers: object) -> list[Provider]:
    """The provider objects given to a manager."""
    if isinstance(providers, str | bytes) or not isinstance(providers, Iterable):
        raise TypeError(
            "providers must be a list of provider objects such as "
            f"tl.providers.OpenAIProvider(client=...), not {type(providers).__name__}"
        )
    found = list(providers)
    for provider in found:
        if isinstance(provider, type):
            # A class has a provider's attributes, so the protocol check alone passes it.
            raise TypeError(
                f"providers must be provider objects, not the class {provider.__name__}: "
                f"pass {provider.__name__}(...)"
            )
        if not isinstance(provider, Provider):
            raise TypeError(
                "providers must be provider objects such as tl.providers.OpenAIProvider("
                f"client=...); to use a built-in provider by name, pass provider={provider!r} "
                "to create()"
                if isinstance(provider, str)
                else f"not a provider: {type(provider).__name__}"
            )
    return found


def pending_calls(messages: Sequence[Any]) -> list[str]:
    """The tool calls the last message asks for, which the next turn must answer."""
    if not messages or messages[-1].role != "assistant":
        return []
    return [call.call_id for call in messages[-1].tool_calls]


def mode_for(provider: Provider, mode: str | None) -> Mode:
    """The session mode: as asked, checked against what the provider can do; by
    default native where the provider keeps server-side state, else local."""
    if mode is None:
        return "native" if provider.capabilities.native_state else "local"
    if mode not in ("native", "local"):
        raise ValidationError(f"mode must be 'native' or 'local', not {mode!r}")
    if mode == "native" and not provider.capabilities.native_state:
        raise ConfigurationError(f"provider {provider.name!r} keeps no server-side state")
    return "native" if mode == "native" else "local"


def user_id(user: object) -> str | None:
    return None if user is None else validate_id(user, "user")


def as_tools(tools: ToolsArg) -> list[Tool] | None:
    if tools is None:
        return None
    if isinstance(tools, str | bytes | Mapping | Tool) or not isinstance(tools, Iterable):
        raise TypeError(f"tools must be a list of tl.Tool (or dicts), not {type(tools).__name__}")
    try:
        found = [t if isinstance(t, Tool) else Tool.model_validate(t) for t in tools]
    except PydanticValidationError as exc:
        raise ValidationError(f"not a tool definition: {exc.errors()[0]['msg']}") from exc
    # Tools are stored with the session and sent to the provider: text a store can
    # keep, parameters that are JSON.
    for tool in found:
        check_text(tool.name, "tool name")
        check_text(tool.description, "tool description")
        _check_json(tool.parameters, "tool parameters", 0)
    return found
