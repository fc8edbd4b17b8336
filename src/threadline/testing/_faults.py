"""The transport faults both fake servers (`FakeAnthropic`, `FakeGemini`) play.

A fault says what the next model request does instead of being answered normally:
an HTTP error, a timeout or a reset before or after the server stored the turn, a
refused connection, a stream that stops, ends early or ends in an ``error`` event, or
a malformed body. Each fake adds the fields only its API has.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx


@dataclass
class WireFault:
    """The fields both fakes understand (see the module docstring)."""

    status: int | None = None
    """Answer with this HTTP error (the provider's error body)."""
    message: str = "boom"
    headers: dict[str, str] = field(default_factory=dict)
    timeout: bool = False
    """Time out before the server does anything."""
    timeout_after_storing: bool = False
    """Store the turn server-side (the client never hears), then time out."""
    connect_error: bool = False
    """Refuse the connection: the request never reaches the server."""
    reset_after_storing: bool = False
    """Store the turn, then drop the connection before answering (reset by peer)."""
    cut_after_events: int | None = None
    """Stream this many events, then drop the connection."""
    end_after_events: int | None = None
    """Stream this many events, then end the body cleanly (no final event)."""
    error_event_after: int | None = None
    """Stream this many events, then an ``error`` event."""
    body: bytes | None = None
    """Answer 200 with these bytes (a malformed reply)."""


def dropped(body: bytes) -> Iterator[bytes]:
    """``body``, then the connection dropped before the response was complete."""
    yield body
    raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")
