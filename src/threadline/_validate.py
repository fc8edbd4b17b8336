"""Checks every public entry runs on its arguments before anything is written.

Shared by both faces: bad input raises `ValidationError` (or `ConfigurationError` for
a provider that cannot do what is asked) with a message that says what to change.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from ._ids import validate_id
from ._records import Mode
from .errors import ConfigurationError, ValidationError
from .messages import Tool
from .providers import Provider

__all__ = ["MAX_METADATA_BYTES", "ToolsArg", "as_tools", "check_metadata", "mode_for", "user_id"]

MAX_METADATA_BYTES = 64 * 1024

ToolsArg = Sequence[Tool | dict[str, Any]] | None


def check_metadata(metadata: dict[str, Any] | None) -> dict[str, Any]:
    """A copy of ``metadata``, refused if it is not JSON or too large."""
    metadata = dict(metadata or {})
    try:
        size = len(json.dumps(metadata))
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"metadata must be JSON-serialisable: {exc}") from exc
    if size > MAX_METADATA_BYTES:
        raise ValidationError(f"metadata is {size} bytes; the limit is {MAX_METADATA_BYTES}")
    return metadata


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


def user_id(user: str | None) -> str | None:
    return None if user is None else validate_id(user, "user")


def as_tools(tools: ToolsArg) -> list[Tool] | None:
    if tools is None:
        return None
    try:
        return [t if isinstance(t, Tool) else Tool.model_validate(t) for t in tools]
    except PydanticValidationError as exc:
        raise ValidationError(f"not a tool definition: {exc.errors()[0]['msg']}") from exc
