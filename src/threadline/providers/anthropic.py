"""``anthropic``: Claude through the Messages API, with message threads where they help.

This module is the face-neutral configuration a user passes to either manager
(`AnthropicProvider`). The work is done by the engines: `AsyncAnthropicEngine` in
``_anthropic_async.py`` (the source) and its generated blocking twin
`AnthropicEngine`. What a turn sends is decided in ``_anthropic_plan.py``, how
messages look on the wire in ``_anthropic_wire.py``, and how SDK errors map onto
threadline's in ``_anthropic_errors.py``.

- native mode (default): beta **message threads**. The first turn (and every re-seed)
  creates a thread holding the mirrored history, the system prompt and the tools;
  later turns continue it from the last reply's ``msg_…`` id with only the new input.
- local mode: the whole mirrored history every turn, prompt-cached.

See docs/providers/anthropic.md.
"""

from __future__ import annotations

from typing import Any, Literal

from ..errors import ValidationError
from ._config import SdkProvider
from .base import Capabilities

__all__ = ["AnthropicProvider"]

NativeKind = Literal["threads"]

NO_KEY = "no API key: set ANTHROPIC_API_KEY or pass AnthropicProvider(client=...)"


class AnthropicProvider(SdkProvider):
    """Anthropic's Messages API. See the module docstring for the modes.

    ``client``: an ``anthropic.AsyncAnthropic`` (for an `AsyncSessionManager`) or an
    ``anthropic.Anthropic`` (for a `SessionManager`), used as given. Without one, each
    face builds its own from ``ANTHROPIC_API_KEY`` / ``ANTHROPIC_BASE_URL`` with the
    SDK's retries and its built-in OpenTelemetry spans off: threadline's `RetryPolicy`
    is the only retry layer and its CLIENT span the only span per model call.

    ``max_tokens``: the provider-wide default for replies (a turn's
    ``max_tokens=`` option wins); without it, a per-model default applies.
    """

    name = "anthropic"
    system_name = "anthropic"
    default_model = "claude-sonnet-5-5"
    capabilities = Capabilities(native_state=True, delete_native=False)
    _engine_module = "._anthropic"
    _engine_class = "AnthropicEngine"

    def __init__(
        self,
        client: Any = None,
        *,
        native: NativeKind = "threads",
        max_tokens: int | None = None,
    ) -> None:
        if native != "threads":
            raise ValidationError(f"native must be 'threads', not {native!r}")
        if max_tokens is not None and (
            isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
        ):
            raise ValidationError(f"max_tokens must be a positive int, not {max_tokens!r}")
        super().__init__(client)
        self.native: NativeKind = native
        self.max_tokens = max_tokens
