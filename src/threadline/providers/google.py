"""``google``: Gemini through the Interactions API, with server-side state where it helps.

This module is the face-neutral half of the adapter: the options a user passes
(``GoogleProvider(client=..., native="interactions", vertexai=..., project=...,
location=...)``), the client threadline builds when none is given, and the telemetry
name. The work is done by the engines generated from one async source
(``_google_async.py`` → ``_google_sync.py``, see docs/architecture.md); both faces
share one ``genai.Client`` (its ``.aio`` face serves the async engine).

Two ways to run a turn, chosen by the session's mode:

- native (default): ``interactions.create(previous_interaction_id=<last>, input=<this
  turn only>, store=True)``; a session whose server-side state is missing or stale
  starts a new chain seeded with the mirrored history as input steps.
- local: ``models.generate_content`` with the whole history as ``contents``.

The SDK is imported on first use, never at import.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import ValidationError as PydanticValidationError

from ..errors import AuthenticationError, ConfigurationError, ValidationError
from ._config import SdkProvider
from ._sdk import require
from .base import Capabilities

__all__ = ["GoogleProvider"]

NativeKind = Literal["interactions"]
GEMINI_SYSTEM = "gcp.gemini"
VERTEX_SYSTEM = "gcp.vertex_ai"

# Turn options threadline sets itself (or that would break the turn), per mode.
_RESERVED = {
    "native": frozenset(
        {"model", "input", "previous_interaction_id", "store", "stream", "system_instruction",
         "tools", "continuation_token", "background", "agent", "agent_config"}
    ),
    "local": frozenset({"system_instruction", "tools", "automatic_function_calling"}),
}  # fmt: skip
# ``interactions.create`` arguments that are not body fields.
_CALL_OPTIONS = frozenset({"automatic_continuation", "timeout", "extra_headers", "extra_body"})


def _env_vertexai() -> bool:
    """Whether the SDK would pick Vertex AI from the environment (as genai.Client does)."""
    for name in ("GOOGLE_GENAI_USE_ENTERPRISE", "GOOGLE_GENAI_USE_VERTEXAI"):
        value = os.environ.get(name)
        if value is not None:
            return value.strip().lower() in ("true", "1")
    return False


def _first_problem(exc: PydanticValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"


class GoogleProvider(SdkProvider):
    """Gemini (API key) or Vertex AI. See the module docstring for the modes.

    ``client``: a ``google.genai.Client`` used as given, by both a `SessionManager`
    and an `AsyncSessionManager` (the latter through ``client.aio``). Without one, a
    client is built on first use from the SDK's environment variables
    (``GOOGLE_API_KEY``/``GEMINI_API_KEY``, or ``GOOGLE_GENAI_USE_VERTEXAI`` with
    ``GOOGLE_CLOUD_PROJECT``/``GOOGLE_CLOUD_LOCATION``) and ``vertexai``, ``project``
    and ``location`` given here, with the SDK's retries off
    (``HttpRetryOptions(attempts=1)``): threadline's `RetryPolicy` is the only retry
    layer.
    """

    name = "google"
    system_name = GEMINI_SYSTEM
    default_model = "gemini-3.5-flash"
    capabilities = Capabilities(native_state=True, delete_native=True)
    _engine_module = "._google"
    _engine_class = "GoogleEngine"

    def __init__(
        self,
        client: Any = None,
        *,
        native: NativeKind = "interactions",
        vertexai: bool | None = None,
        project: str | None = None,
        location: str | None = None,
    ) -> None:
        if native != "interactions":
            raise ValidationError(f"native must be 'interactions', not {native!r}")
        if client is not None and (vertexai is not None or project or location):
            raise ValidationError(
                "vertexai, project and location configure the client threadline builds: "
                "pass them to genai.Client instead when you give client="
            )
        if vertexai is False and (project or location):
            raise ValidationError("project and location are Vertex AI options (vertexai=True)")
        super().__init__(client)
        self.native: NativeKind = native
        self.project = project
        self.location = location
        if client is not None:
            self.vertexai = bool(getattr(client, "vertexai", False))
        elif vertexai is None:
            self.vertexai = bool(project or location) or _env_vertexai()
        else:
            self.vertexai = vertexai
        # ``gen_ai.provider.name``: the semantic conventions name Vertex AI apart.
        self.system_name = VERTEX_SYSTEM if self.vertexai else GEMINI_SYSTEM

    def build_client(self) -> Any:
        """A ``genai.Client`` from the environment and this provider's options.

        SDK retries are off: ``HttpRetryOptions(attempts=1)`` (an ``HttpRetryOptions()``
        without ``attempts`` would make every call retry five times).
        """
        genai = require("google.genai", "google")
        types = require("google.genai.types", "google")
        options: dict[str, Any] = {
            "http_options": types.HttpOptions(retry_options=types.HttpRetryOptions(attempts=1))
        }
        if self.vertexai:
            options.update(vertexai=True, project=self.project, location=self.location)
        try:
            return genai.Client(**options)
        except ValueError:
            where = (
                "set GOOGLE_CLOUD_PROJECT and GOOGLE_CLOUD_LOCATION (or pass project= and "
                "location=)"
                if self.vertexai
                else "set GOOGLE_API_KEY or GEMINI_API_KEY"
            )
            raise AuthenticationError(
                f"cannot build a Gemini client: {where}, or pass GoogleProvider(client=...)",
                provider=self.name,
            ) from None

    def check_options(self, options: Mapping[str, Any], mode: str) -> None:
        """Refuse turn options threadline sets, or the SDK does not know, before sending.

        Native turns take ``interactions.create`` arguments (``generation_config={...}``,
        ``safety_settings``, ``response_format``...); local turns take
        ``GenerateContentConfig`` fields (``temperature``, ``max_output_tokens``...),
        checked whole so that a bad value is refused here, not taken for a bad reply.
        """
        if not options:
            return
        names = set(options)
        reserved = sorted(names & _RESERVED[mode])
        if reserved:
            raise ValidationError(f"{', '.join(reserved)}: set by threadline, not a turn option")
        if mode == "native":
            interactions = require("google.genai.interactions", "google")
            known = set(interactions.CreateModelInteractionParam.__annotations__) | _CALL_OPTIONS
            where = "interactions.create (sampling settings go in generation_config={...})"
        else:
            known = set(require("google.genai.types", "google").GenerateContentConfig.model_fields)
            where = "generateContent's config"
        unknown = sorted(names - known)
        if unknown:
            raise ValidationError(f"{', '.join(unknown)}: not an option of {where}")
        if mode == "local":
            types = require("google.genai.types", "google")
            try:
                types.GenerateContentConfig.model_validate(dict(options))
            except PydanticValidationError as exc:
                raise ValidationError(f"a bad turn option: {_first_problem(exc)}") from None

    def check_client(self, client: Any) -> Any:
        """``client`` if it is a ``genai.Client``, else a `ConfigurationError` naming it."""
        genai = require("google.genai", "google")
        if not isinstance(client, genai.Client):
            hint = (
                " (pass the genai.Client itself: its .aio face serves async managers)"
                if type(client).__name__ == "AsyncClient"
                else ""
            )
            raise ConfigurationError(
                f"GoogleProvider needs a google.genai.Client, not {type(client).__name__}{hint}"
            )
        return client
