"""`AsyncConversationSession`: one conversation, its turns and its lifecycle.

This is the single implementation of session behaviour; the sync `ConversationSession`
forwards to it. Every write goes through `_commit`, one compare-and-set on the
session's version, so a stale handle gets `ConcurrencyError` instead of overwriting.
A turn is committed once, after the provider answered: input and reply together.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from pydantic import ValidationError as PydanticValidationError

from . import _lifecycle, _turn
from ._records import Mode, SessionRecord
from ._transfer import export_document
from .errors import (
    SessionExpiredError,
    SessionNotFoundError,
    ValidationError,
)
from .messages import (
    Checkpoint,
    Message,
    MessageList,
    SendInput,
    SessionStatus,
    Tool,
    Usage,
    to_input_message,
    utcnow,
)
from .providers.base import StreamEvent

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from ._manager import AsyncSessionManager

logger = logging.getLogger("threadline")

ToolsArg = Sequence[Tool | dict[str, Any]] | None


class ForkOptions(TypedDict, total=False):
    provider: str
    model: str
    mode: Mode
    user: str | None
    metadata: dict[str, Any]
    at: Checkpoint | str


def as_tools(tools: ToolsArg) -> list[Tool] | None:
    if tools is None:
        return None
    try:
        return [t if isinstance(t, Tool) else Tool.model_validate(t) for t in tools]
    except PydanticValidationError as exc:
        raise ValidationError(f"not a tool definition: {exc.errors()[0]['msg']}") from exc


class AsyncConversationSession:
    """A conversation mirrored in the store. Get one from `AsyncSessionManager`."""

    def __init__(
        self, manager: AsyncSessionManager, record: SessionRecord, history: list[Message]
    ) -> None:
        self._manager = manager
        self._record = record
        self._history = history
        # Turns and writes on one session object run one at a time. Not anyio.Lock:
        # the blocking facade steps a stream from a new task each time.
        self._lock = asyncio.Lock()
        self._stream_task: asyncio.Task[Any] | None = None
        self._deleted = False

    # -- reading -------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self._record.id

    @property
    def user(self) -> str | None:
        return self._record.user

    @property
    def provider(self) -> str:
        return self._record.provider

    @property
    def model(self) -> str:
        return self._record.model

    @property
    def system(self) -> str | None:
        return self._record.system

    @property
    def mode(self) -> Mode:
        return self._record.mode

    @property
    def status(self) -> SessionStatus:
        if self._record.is_expired(utcnow()):
            return SessionStatus.EXPIRED
        return self._record.status

    @property
    def status_reason(self) -> str | None:
        """The reason given to ``fail()``, while the session is failed."""
        return self._record.status_reason

    @property
    def native_id(self) -> str | None:
        """The provider's handle for its server-side copy (``conv_…``, ``resp_…``...)."""
        native = self._record.native
        return native.handle if native is not None else None

    @property
    def version(self) -> int:
        return self._record.version

    @property
    def usage(self) -> Usage:
        """Tokens used by every turn of this session, summed."""
        return self._record.usage

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self._record.metadata)

    @property
    def created_at(self) -> datetime:
        return self._record.created_at

    @property
    def updated_at(self) -> datetime:
        return self._record.updated_at

    @property
    def expires_at(self) -> datetime | None:
        return self._record.expires_at

    @property
    def parent_id(self) -> str | None:
        """The session this one was forked from, if any."""
        return self._record.parent_id

    @property
    def checkpoints(self) -> list[Checkpoint]:
        return list(self._record.checkpoints)

    @property
    def tools(self) -> list[Tool]:
        return list(self._record.tools)

    @property
    def messages(self) -> list[Message]:
        """The conversation, oldest first (the system prompt is not a message)."""
        return MessageList(self._history)

    def __repr__(self) -> str:
        r = self._record
        return (
            f"<{type(self).__name__} {r.id} {r.provider}/{r.model} {self.status.value}"
            f" messages={r.message_count} v{r.version}>"
        )

    def _repr_html_(self) -> str:
        from ._display import session_html

        return session_html(self._record, self._history)

    async def refresh(self) -> None:
        """Reload this session from the store (after a `ConcurrencyError`, say)."""
        async with self._lock:
            store = self._manager.store
            record = await store.get(self.id, user=None, now=utcnow())
            # Only the messages this version holds: a turn committed between the two
            # reads must not make the history longer than the record says.
            self._history = await store.read_messages(self.id, limit=record.message_count)
            self._record = record

    # -- writing -------------------------------------------------------------------

    def _check_writable(self, operation: str) -> None:
        if self._deleted:
            raise SessionNotFoundError(self.id)
        if self._record.is_expired(utcnow()):
            raise SessionExpiredError(self.id)
        if operation in ("send", "stream"):
            _lifecycle.require_active(self.id, self._record.status, operation)
        elif operation == "restore":
            _lifecycle.require_resumable(self.id, self._record.status, operation)

    async def _commit(
        self,
        span: Span,
        append: Sequence[Message] = (),
        keep: int | None = None,
        **changes: Any,
    ) -> None:
        """Write a new version of the record (and messages) if ours is still current."""
        record = self._record
        now = utcnow()
        changes.update(version=record.version + 1, updated_at=now)
        if record.ttl_seconds is not None:
            # Expiry slides: a session lives ttl past its last write.
            changes["expires_at"] = now + timedelta(seconds=record.ttl_seconds)
        if append or keep is not None:
            base = record.message_count if keep is None else keep
            changes["message_count"] = base + len(append)
        new = record.model_copy(update=changes)
        with self._manager.telemetry.store_step(span, "commit"):
            await self._manager.store.commit(
                new, expected_version=record.version, append=append, keep=keep
            )
        self._record = new
        if keep is not None:
            del self._history[keep:]
        self._history.extend(append)
        if record.native is not None and "native" in changes and changes["native"] is None:
            # Dropped (restore, ambiguous failure): nothing will continue it, and it
            # holds history the mirror no longer has.
            await self._manager.discard_native(record.native, record.id)

    async def _transition(self, operation: str, reason: str | None = None) -> None:
        async with self._lock:
            with self._manager.telemetry.operation(operation, self._record) as span:
                if self._record.is_expired(utcnow()):
                    raise SessionExpiredError(self.id)
                status = _lifecycle.next_status(self.id, self._record.status, operation)
                await self._commit(span, status=status, status_reason=reason)

    async def pause(self) -> None:
        await self._transition("pause")

    async def resume(self) -> None:
        await self._transition("resume")

    async def complete(self) -> None:
        await self._transition("complete")

    async def fail(self, reason: str) -> None:
        """Mark the session failed (the caller's verdict), recording ``reason``."""
        await self._transition("fail", reason)

    async def cancel(self) -> None:
        await self._transition("cancel")

    async def archive(self) -> None:
        await self._transition("archive")

    async def reactivate(self) -> None:
        await self._transition("reactivate")

    # -- turns (run by _turn) --------------------------------------------------------

    def _no_reentry(self, operation: str) -> None:
        # A stream holds the session until it ends. Sending from inside the loop that
        # reads it would wait for itself forever: refuse instead. (An async generator
        # left with `break` stays open until closed, so close it: `await ev.aclose()`
        # or `async with contextlib.aclosing(s.stream(...)) as ev`.)
        if self._stream_task is not None and self._stream_task is asyncio.current_task():
            raise ValidationError(
                f"cannot {operation} while a stream of this session is open in this task;"
                " finish the stream, or close it (await stream.aclose()) first"
            )

    async def send(self, content: SendInput, *, tools: ToolsArg = None, **options: Any) -> Message:
        """Send one user message (or tool results) and return the assistant's reply.

        ``tools`` replaces the session's tools for this turn (``[]`` offers none);
        ``options`` (such as ``temperature`` or ``max_output_tokens``) go to the
        provider as they are.
        """
        message = to_input_message(content)
        self._no_reentry("send")
        return await _turn.send(self, message, tools, options)

    async def stream(
        self, content: SendInput, *, tools: ToolsArg = None, **options: Any
    ) -> AsyncIterator[StreamEvent]:
        """Like `send`, yielding the reply as it is generated.

        Events: ``text`` pieces, ``tool_call`` parts, then ``done`` carrying the
        mirrored reply. The turn is mirrored only once it is complete: a stream that
        breaks off, or that the caller abandons, leaves the mirror as it was (and the
        provider's copy, which may hold part of it, is dropped and re-seeded).
        """
        message = to_input_message(content)
        self._no_reentry("stream")
        events = _turn.stream(self, message, tools, options)
        try:
            async for event in events:
                yield event
        finally:
            await events.aclose()  # type: ignore[attr-defined]

    # -- history -------------------------------------------------------------------

    async def checkpoint(self, label: str | None = None) -> Checkpoint:
        """Mark the current point of the history so ``restore`` can return to it."""
        async with self._lock:
            with self._manager.telemetry.operation("checkpoint", self._record) as span:
                self._check_writable("checkpoint")
                cp = Checkpoint(label=label, message_count=self._record.message_count)
                await self._commit(span, checkpoints=[*self._record.checkpoints, cp])
                return cp

    def _find_checkpoint(self, ref: Checkpoint | str) -> Checkpoint:
        key = ref.id if isinstance(ref, Checkpoint) else ref
        for cp in reversed(self._record.checkpoints):
            if key in (cp.id, cp.label):
                return cp
        raise ValidationError(f"session {self.id!r} has no checkpoint {key!r}")

    async def restore(self, checkpoint: Checkpoint | str) -> None:
        """Cut the history back to ``checkpoint`` (a `Checkpoint`, its id or label).

        The next turn sees exactly the restored history: server-side state is dropped
        and re-seeded from the mirror. Checkpoints made after this one are removed;
        usage already spent stays counted.
        """
        async with self._lock:
            with self._manager.telemetry.operation("restore", self._record) as span:
                self._check_writable("restore")
                cp = self._find_checkpoint(checkpoint)
                kept = [c for c in self._record.checkpoints if c.message_count <= cp.message_count]
                await self._commit(span, keep=cp.message_count, checkpoints=kept, native=None)

    async def fork(self, **options: Unpack[ForkOptions]) -> AsyncConversationSession:
        """A new session with this one's history (up to ``at=checkpoint``).

        ``provider=``/``model=`` hand the conversation over to another provider or
        model; ``user=`` and ``metadata=`` override the copied ones. The parent is
        not changed. See `ForkOptions`.
        """
        return await self._manager._fork(self, options)

    async def export(self) -> dict[str, Any]:
        """The session as a versioned JSON document (``format_version``).

        Server-side handles are left out: an imported copy re-seeds its own.
        """
        with self._manager.telemetry.operation("export", self._record):
            return export_document(self._record, self._history)

    async def delete(self) -> None:
        """Delete the session, its messages and (best effort) its server-side state."""
        async with self._lock:
            with self._manager.telemetry.operation("delete", self._record):
                await self._manager._delete_record(self._record)
                self._deleted = True
