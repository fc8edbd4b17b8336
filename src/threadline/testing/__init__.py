"""Tools for testing code built on threadline: the offline `EchoProvider` (with fault
injection; subclass `AsyncEchoEngine` / `EchoEngine` and set ``async_engine_class`` /
``sync_engine_class`` on an `EchoProvider` subclass to script a test double), fake SDK
transports and telemetry capture.

The SDK bridge (`RespxTransport`, `openai_client`, `sse_body`) and the fake Anthropic
API (`FakeAnthropic`, `AnthropicFault`, `anthropic_client`) and the fake Gemini API
(`FakeGemini`, `GeminiFault`, `google_client`) need ``httpx``,
``httpx2`` and ``respx``; they are imported on first use, so ``import
threadline.testing`` works without them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ..providers._echo_async import AsyncEchoEngine
from ..providers._echo_sync import EchoEngine
from ..providers.echo import EchoProvider
from ._spans import TelemetryCapture, capture_telemetry

if TYPE_CHECKING:
    from ._anthropic_fake import AnthropicFault, FakeAnthropic, anthropic_client
    from ._google_fake import FakeGemini, GeminiFault, google_client
    from ._httpx2 import RespxTransport, openai_client, sse_body

__all__ = [
    "AnthropicFault",
    "AsyncEchoEngine",
    "EchoEngine",
    "EchoProvider",
    "FakeAnthropic",
    "FakeGemini",
    "GeminiFault",
    "RespxTransport",
    "TelemetryCapture",
    "anthropic_client",
    "capture_telemetry",
    "google_client",
    "openai_client",
    "sse_body",
]

_LAZY = {
    "AnthropicFault": "._anthropic_fake",
    "FakeAnthropic": "._anthropic_fake",
    "FakeGemini": "._google_fake",
    "GeminiFault": "._google_fake",
    "RespxTransport": "._httpx2",
    "anthropic_client": "._anthropic_fake",
    "google_client": "._google_fake",
    "openai_client": "._httpx2",
    "sse_body": "._httpx2",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
