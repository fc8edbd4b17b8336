"""``openai``: the Responses API, with server-side state where it helps.

Three ways to run a turn, chosen by the session's mode and ``native=``:

- native, ``conversations`` (default): the server keeps an OpenAI conversation
  (created on the first turn, its metadata naming the threadline session); each turn
  is ``responses.create(conversation=id, input=<this turn's items only>,
  instructions=<system prompt>)``. Request size does not grow with history.
- native, ``responses``: ``previous_response_id`` chaining with ``store=true``.
  ``instructions`` are not carried along a chain, so they are sent every turn.
- local: ``store=false`` and the whole mirrored history as ``input`` every turn
  (reasoning items kept with ``include=["reasoning.encrypted_content"]``).

Server-side state is a cache of the mirror. When it may not match (the session was
restored, forked, imported or handed over, or the server says it is gone) the turn
re-seeds it: a new conversation filled from the mirror (20 items per call), or, when
chaining, one request with the whole history. Once an attempt of a turn has failed
ambiguously (timeout, dropped connection, most 5xx), every later attempt first reads
the conversation's newest items: if the turn already landed it is returned as it
stands, never sent twice; if the conversation holds part of a turn it is deleted (best
effort) and a new one is seeded.

The SDK is imported on first use. A `SessionManager` runs turns on an
``openai.OpenAI`` client and an `AsyncSessionManager` on an ``openai.AsyncOpenAI``
one; the engines that do so live in ``_openai_async.py`` and its generated twin.
"""

from __future__ import annotations

from typing import Any, Literal

from ..errors import ValidationError
from ._config import SdkProvider
from .base import Capabilities

__all__ = ["NativeKind", "OpenAIProvider"]

NativeKind = Literal["conversations", "responses"]


class OpenAIProvider(SdkProvider):
    """OpenAI through the Responses API. See the module docstring for the modes.

    ``client``: an ``openai.OpenAI`` (for a `SessionManager`) or ``openai.AsyncOpenAI``
    (for an `AsyncSessionManager`) used as given; point its ``base_url`` at an
    OpenAI-compatible server if you like. Without one, each face builds its client on
    first use from ``OPENAI_API_KEY``/``OPENAI_BASE_URL`` with the SDK's retries off:
    threadline's `RetryPolicy` is the only retry layer.
    """

    name = "openai"
    system_name = "openai"
    default_model = "gpt-5.5"
    capabilities = Capabilities(native_state=True, delete_native=True)
    _engine_module = "._openai"
    _engine_class = "OpenAIEngine"

    def __init__(self, client: Any = None, *, native: NativeKind = "conversations") -> None:
        if native not in ("conversations", "responses"):
            raise ValidationError(f"native must be 'conversations' or 'responses', not {native!r}")
        super().__init__(client)
        self.native: NativeKind = native
