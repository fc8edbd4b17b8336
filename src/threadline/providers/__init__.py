"""Provider adapters. Each SDK is imported only when its provider is used.

``OpenAIProvider``, ``AnthropicProvider`` and ``GoogleProvider`` need their extras
(``pip install 'threadline[openai]'`` ...); ``EchoProvider`` needs nothing.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError
from ._engine_async import AsyncEngine
from ._engine_sync import Engine
from ._provider import Provider
from .base import Capabilities, StreamEvent, TurnRequest, TurnResult
from .echo import EchoProvider

if TYPE_CHECKING:
    from .anthropic import AnthropicProvider
    from .google import GoogleProvider
    from .openai import OpenAIProvider

__all__ = [
    "AnthropicProvider",
    "AsyncEngine",
    "Capabilities",
    "Engine",
    "EchoProvider",
    "GoogleProvider",
    "OpenAIProvider",
    "Provider",
    "StreamEvent",
    "TurnRequest",
    "TurnResult",
    "builtin_provider",
]

# name -> (module, class). Modules import their SDK lazily, inside the class.
_BUILTIN = {
    "echo": (".echo", "EchoProvider"),
    "openai": (".openai", "OpenAIProvider"),
    "anthropic": (".anthropic", "AnthropicProvider"),
    "google": (".google", "GoogleProvider"),
}


def __getattr__(name: str) -> Any:
    for module, cls in _BUILTIN.values():
        if cls == name:
            return getattr(import_module(module, __name__), cls)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def builtin_provider(name: str) -> Provider:
    """A provider built with its defaults (clients from the SDK's environment variables)."""
    try:
        module, cls = _BUILTIN[name]
    except KeyError:
        known = ", ".join(sorted(_BUILTIN))
        raise ConfigurationError(f"unknown provider {name!r} (known: {known})") from None
    provider: Provider = getattr(import_module(module, __name__), cls)()
    return provider
