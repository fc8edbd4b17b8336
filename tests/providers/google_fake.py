"""Drive the Google engines the way the session core does, on either face.

The server is `threadline.testing.FakeGemini` (shipped for users; re-exported here).
`Driver` holds one conversation's mirror and native state, builds each turn's
`TurnRequest` as the core does (the history loaded only when the turn needs it), runs
it on the async engine (`AsyncGoogleEngine`, through ``client.aio``) or on its
generated blocking twin (`GoogleEngine`), and commits what comes back: the history
grows by input + output, the native state becomes the result's. Like the core it
retries retryable errors (``request.ambiguous`` stays set after an ambiguous one) and
drops native state after a turn that failed ambiguously.

Every test using it runs twice, ``face="async"`` and ``face="sync"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine_driver import Api, EngineDriver, Hooks, manager, texts

from threadline.messages import Message, SendInput, Tool, to_input_message
from threadline.providers.base import NativeState, TurnRequest
from threadline.providers.google import GoogleProvider
from threadline.testing import FakeGemini
from threadline.testing import GeminiFault as Fault

__all__ = ["Api", "Driver", "FACES", "FakeGemini", "Fault", "Hooks", "MODEL", "manager", "texts"]

FACES = ("async", "sync")
MODEL = "gemini-3.5-flash"


class Driver(EngineDriver):
    """One conversation on one engine face, run like the session core runs it."""

    name = "google"

    def __init__(
        self,
        face: str,
        fake: FakeGemini | None = None,
        *,
        mode: str = "native",
        model: str = MODEL,
        system: str | None = None,
        tools: Sequence[Tool] = (),
        provider: GoogleProvider | None = None,
        **client_options: Any,
    ) -> None:
        self.face = face
        self.sync = face == "sync"
        self.fake = fake or FakeGemini()
        self.provider = provider or GoogleProvider(client=self.fake.client(**client_options))
        self.engine: Any = (
            self.provider.sync_engine() if self.sync else self.provider.async_engine()
        )
        self.mode = mode
        self.model = model
        self.system = system
        self.tools = list(tools)
        self.history: list[Message] = []
        self.native: NativeState | None = None
        self.hooks = Hooks()
        self.loads = 0
        """How many times an engine read the history from the "store"."""

    # -- one request ---------------------------------------------------------------------

    def request(self, content: SendInput | Message, **options: Any) -> TurnRequest:
        """This turn's request, history not loaded yet (the engine loads it if needed)."""
        message = content if isinstance(content, Message) else to_input_message(content)
        snapshot = tuple(self.history)

        def load() -> Sequence[Message]:
            self.loads += 1
            return snapshot

        async def aload() -> Sequence[Message]:
            return load()

        return TurnRequest(
            session_id="ses_test",
            model=self.model,
            system=self.system,
            mode=self.mode,  # type: ignore[arg-type]
            history_count=len(snapshot),
            input=message,
            native=self.native,
            tools=list(self.tools),
            options=options,
            hooks=self.hooks,
            loader=load if self.sync else aload,
        )
