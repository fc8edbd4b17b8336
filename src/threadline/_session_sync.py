# GENERATED from src/threadline/_session_async.py by scripts/gen_sync.py: do not edit.
# Edit the async source and run `make generate`.
"""`ConversationSession`: one conversation, its turns and its lifecycle.

This is the single implementation of session behaviour; the blocking
`ConversationSession` is generated from it. Every write goes through `_commit`, one
compare-and-set on the session's version, so a stale handle gets `ConcurrencyError`
instead of overwriting. A turn is committed once, after the provider answered: input
and reply together. The history is read from the store only when something needs it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from . import _lifecycle
from . import _turn_sync as _turn
from ._concurrency import Lock, current_task
from ._display import MessageList, session_html
from ._ids import new_id
from ._records import Mode, SessionRecord
from ._runtime_sync import Runtime
from ._transfer import export_document
from ._validate import (
    ToolsArg,
    check_metadata,
    check_text,
    expiry,
    mode_for,
    pending_calls,
    user_id,
)
from .errors import (
    ConcurrencyError,
    SessionExpiredError,
    SessionNotFoundError,
    ThreadlineError,
    ValidationError,
)
from .messages import (
    Checkpoint,
    Message,
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

logger = logging.getLogger("threadline")


class ForkOptions(TypedDict, total=False):
    provider: str
    model: str
    mode: Mode
    user: str | None
    metadata: dict[str, Any]
    at: Checkpoint | str


class ConversationSession:
    """A conversation mirrored in the store. Get one from `SessionManager`."""

    __slots__ = (
        "_deleted",
        "_history",
        "_id",
        "_lock",
        "_packed",
        "_parsed",
        "_runtime",
        "_stream_task",
    )

    def __init__(
        self,
        runtime: Runtime,
        record: SessionRecord,
        history: list[Message] | None = None,
        *,
        packed: bool = False,
    ) -> None:
        self._runtime = runtime
        self._id = record.id
        # ``packed``: keep the record as its JSON until first use. A parsed record
        # weighs ~4.5 KB, its JSON ~0.6 KB; `manager.get()` hands out handles that
        # may sit idle (a server holding many), so it packs them.
        self._packed: str | None = record.model_dump_json() if packed else None
        self._parsed: SessionRecord | None = None if packed else record
        self._history = history
        """The messages, once read (None until something needs them)."""
        # Turns and writes on one session object run one at a time.
        self._lock = Lock()
        self._stream_task: object = None
        self._deleted = False

    # -- reading -------------------------------------------------------------------

    @property
    def _record(self) -> SessionRecord:
        parsed = self._parsed
        if parsed is None:
            assert self._packed is not None
            parsed = self._parsed = SessionRecord.model_validate_json(self._packed)
            self._packed = None
        return parsed

    @_record.setter
    def _record(self, record: SessionRecord) -> None:
        self._parsed, self._packed = record, None

    @property
    def id(self) -> str:
        return self._id

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
        """The conversation, oldest first (the system prompt is not a message).

        Read from the store on first access (one query) and kept. On the async face
        with a network store (Postgres, Redis) a property cannot wait for it: call
        ``await session.load_messages()`` first.
        """
        history = self._history
        if history is None:
            self._runtime.check_open()
            history = self._read_history()
            self._history = history
        return MessageList(history)

    def load_messages(self) -> list[Message]:
        """The conversation, read from the store now if it has not been yet."""
        return MessageList(self._load_history())

    def _read_history(self) -> list[Message]:
        # Only the messages this version holds: a turn committed since the record was
        # read must not make the history longer than the record says.
        count = self._record.message_count
        history = self._runtime.store.read_messages(self.id, limit=count)
        if len(history) < count:
            # Deleted (SessionNotFoundError from get), or cut back by a restore since
            # this handle read its record: its checkpoints would point past the end.
            self._runtime.store.get(self.id, user=None, now=utcnow())
            raise ConcurrencyError(self.id, self._record.version)
        return history

    def _load_history(self) -> list[Message]:
        if self._history is None:
            self._runtime.check_open()
            self._history = self._read_history()
        return self._history

    def __repr__(self) -> str:
        r = self._record
        return (
            f"<{type(self).__name__} {r.id} {r.provider}/{r.model} {self.status.value}"
            f" messages={r.message_count} v{r.version}>"
        )

    def _repr_html_(self) -> str:
        try:
            history = self.messages
        except ThreadlineError:
            history = None
        return session_html(self._record, history)

    def refresh(self) -> None:
        """Reload this session from the store (after a `ConcurrencyError`, say). The
        history is read again when next needed."""
        with self._lock:
            self._runtime.check_open()
            self._record = self._runtime.store.get(self.id, user=None, now=utcnow())
            self._history = None

    # -- writing -------------------------------------------------------------------

    def _check_writable(self, operation: str) -> None:
        self._runtime.check_open()
        if self._deleted:
            raise SessionNotFoundError(self.id)
        if self._record.is_expired(utcnow()):
            raise SessionExpiredError(self.id)
        if operation in ("send", "stream"):
            _lifecycle.require_active(self.id, self._record.status, operation)
        elif operation == "restore":
            _lifecycle.require_resumable(self.id, self._record.status, operation)

    def _commit(
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
            changes["expires_at"] = expiry(now, record.ttl_seconds)
        if append or keep is not None:
            base = record.message_count if keep is None else keep
            changes["message_count"] = base + len(append)
        new = record.model_copy(update=changes)
        with self._runtime.telemetry.store_step(span, "commit"):
            self._runtime.store.commit(
                new, expected_version=record.version, append=append, keep=keep
            )
        self._record = new
        if self._history is not None:
            if keep is not None:
                del self._history[keep:]
            self._history.extend(append)
        if record.native is not None and "native" in changes and changes["native"] is None:
            # Dropped (restore, ambiguous failure): nothing will continue it, and it
            # holds history the mirror no longer has.
            self._runtime.discard_native(record.native, record.id)

    def _transition(self, operation: str, reason: str | None = None) -> None:
        with self._lock:
            with self._runtime.telemetry.operation(operation, self._record) as span:
                self._runtime.check_open()
                if self._record.is_expired(utcnow()):
                    raise SessionExpiredError(self.id)
                status = _lifecycle.next_status(self.id, self._record.status, operation)
                self._commit(span, status=status, status_reason=reason)

    def pause(self) -> None:
        self._transition("pause")

    def resume(self) -> None:
        self._transition("resume")

    def complete(self) -> None:
        self._transition("complete")

    def fail(self, reason: str) -> None:
        """Mark the session failed (the caller's verdict), recording ``reason``."""
        self._transition("fail", check_text(reason, "reason"))

    def cancel(self) -> None:
        self._transition("cancel")

    def archive(self) -> None:
        self._transition("archive")

    def reactivate(self) -> None:
        self._transition("reactivate")

    # -- turns (run by _turn) --------------------------------------------------------

    def _no_reentry(self, operation: str) -> None:
        # A stream holds the session until it ends. Sending from inside the loop that
        # reads it would wait for itself forever: refuse instead. (A stream left with
        # `break` stays open until closed, so close it: `await stream.close()`, or
        # `async with contextlib.closing(s.stream(...)) as stream`.)
        if self._stream_task is not None and self._stream_task == current_task():
            raise ValidationError(
                f"cannot {operation} while a stream of this session is open here;"
                " finish the stream, or close it (await stream.close()) first"
            )

    def send(self, content: SendInput, *, tools: ToolsArg = None, **options: Any) -> Message:
        """Send one user message (or tool results) and return the assistant's reply.

        ``tools`` replaces the session's tools for this turn (``[]`` offers none);
        ``options`` (such as ``temperature`` or ``max_output_tokens``) go to the
        provider as they are.
        """
        message = to_input_message(content)
        self._no_reentry("send")
        return _turn.send(self, message, tools, options)

    def stream(
        self, content: SendInput, *, tools: ToolsArg = None, **options: Any
    ) -> Iterator[StreamEvent]:
        """Like `send`, yielding the reply as it is generated.

        Events: ``text`` pieces, ``tool_call`` parts, then ``done`` carrying the
        mirrored reply. The turn is mirrored only once it is complete: a stream that
        breaks off, or that the caller abandons, leaves the mirror as it was (and the
        provider's copy, which may hold part of it, is dropped and re-seeded).
        """
        message = to_input_message(content)
        self._no_reentry("stream")
        events = _turn.stream(self, message, tools, options)
        self._runtime.track(events)
        return events

    # -- history -------------------------------------------------------------------

    def checkpoint(self, label: str | None = None) -> Checkpoint:
        """Mark the current point of the history so ``restore`` can return to it.

        Labels need not be unique: ``restore(label)`` returns to the most recent
        checkpoint with that label.
        """
        check_text(label, "checkpoint label", optional=True)
        with self._lock:
            with self._runtime.telemetry.operation("checkpoint", self._record) as span:
                self._check_writable("checkpoint")
                cp = Checkpoint(label=label, message_count=self._record.message_count)
                self._commit(span, checkpoints=[*self._record.checkpoints, cp])
                return cp

    def _find_checkpoint(self, ref: Checkpoint | str) -> Checkpoint:
        if not isinstance(ref, Checkpoint | str):
            raise TypeError(
                f"a checkpoint is a tl.Checkpoint, its id or its label, not {type(ref).__name__}"
            )
        key = ref.id if isinstance(ref, Checkpoint) else ref
        for cp in reversed(self._record.checkpoints):
            if key in (cp.id, cp.label):
                return cp
        raise ValidationError(f"session {self.id!r} has no checkpoint {key!r}")

    def restore(self, checkpoint: Checkpoint | str) -> None:
        """Cut the history back to ``checkpoint`` (a `Checkpoint`, its id or label).

        The next turn sees exactly the restored history: server-side state is dropped
        and re-seeded from the mirror. Checkpoints made after this one are removed;
        usage already spent stays counted.
        """
        with self._lock:
            with self._runtime.telemetry.operation("restore", self._record) as span:
                self._check_writable("restore")
                cp = self._find_checkpoint(checkpoint)
                kept = [c for c in self._record.checkpoints if c.message_count <= cp.message_count]
                history = self._load_history()
                self._commit(
                    span,
                    keep=cp.message_count,
                    checkpoints=kept,
                    native=None,
                    pending_calls=pending_calls(history[: cp.message_count]),
                )

    def fork(self, **options: Unpack[ForkOptions]) -> ConversationSession:
        """A new session with this one's history (up to ``at=checkpoint``).

        ``provider=``/``model=`` hand the conversation over to another provider or
        model; ``user=`` and ``metadata=`` override the copied ones. The parent is
        not changed. See `ForkOptions`.
        """
        runtime = self._runtime
        with runtime.telemetry.operation("fork", self._record) as span:
            runtime.check_open()
            unknown = set(options) - set(ForkOptions.__annotations__)
            if unknown:
                raise TypeError(f"fork() got unknown options: {', '.join(sorted(unknown))}")
            for key in ("provider", "model"):
                if key in options:
                    check_text(options[key], key)
            parent = self._record
            history = self._load_history()
            checkpoints = parent.checkpoints
            if "at" in options:
                cp = self._find_checkpoint(options["at"])
                history = history[: cp.message_count]
                checkpoints = [c for c in checkpoints if c.message_count <= cp.message_count]
            provider = options.get("provider", parent.provider)
            impl = runtime.provider(provider)
            if "model" in options:
                model = options["model"]
            elif provider == parent.provider:
                model = parent.model
            else:
                model = impl.default_model
            mode = mode_for(
                impl, options.get("mode") or (parent.mode if provider == parent.provider else None)
            )
            now = utcnow()
            metadata = {**parent.metadata, **check_metadata(options.get("metadata"))}
            record = parent.model_copy(
                update={
                    "id": new_id("ses"),
                    "user": user_id(options.get("user", parent.user)),
                    "provider": provider,
                    "model": model,
                    "mode": mode,
                    "status": SessionStatus.ACTIVE,
                    "status_reason": None,
                    "native": None,  # the child seeds its own server-side state
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                    "expires_at": expiry(now, parent.ttl_seconds),
                    "metadata": check_metadata(metadata),
                    "parent_id": parent.id,
                    "message_count": len(history),
                    "usage": Usage(),
                    "checkpoints": checkpoints,
                    "pending_calls": pending_calls(history),
                }
            )
            span.set_attribute("threadline.fork.child_id", record.id)
            with runtime.telemetry.store_step(span, "create"):
                runtime.store.create(record, history)
            return ConversationSession(runtime, record, list(history))

    def export(self) -> dict[str, Any]:
        """The session as a versioned JSON document (``format_version``).

        Server-side handles are left out: an imported copy re-seeds its own.
        """
        with self._runtime.telemetry.operation("export", self._record):
            return export_document(self._record, self._load_history())

    def delete(self) -> None:
        """Delete the session, its messages and (best effort) its server-side state."""
        with self._lock:
            with self._runtime.telemetry.operation("delete", self._record):
                self._runtime.check_open()
                self._runtime.delete_record(self._record)
                self._deleted = True
