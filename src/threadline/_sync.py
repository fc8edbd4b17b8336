"""The blocking API: `SessionManager` and `ConversationSession`.

They hold no session logic. Each `SessionManager` runs its `AsyncSessionManager` on a
private event-loop thread (an anyio blocking portal) and every method forwards one
call to it. Because that loop is not the caller's, the blocking API also works where
the calling thread already runs a loop, as in Jupyter.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from datetime import datetime
from typing import TYPE_CHECKING, Any, Self, TypeVar, Unpack

from ._manager import AsyncSessionManager, CreateOptions, ListOptions
from ._records import Mode
from ._session import AsyncConversationSession, ForkOptions, ToolsArg
from .errors import ValidationError
from .messages import Checkpoint, Message, SendInput, SessionInfo, SessionStatus, Tool, Usage
from .providers.base import StreamEvent
from .stores.base import Page, Store

if TYPE_CHECKING:
    from anyio.from_thread import BlockingPortal

T = TypeVar("T")


class _Loop:
    """A private event loop on its own thread, stopped when its owner goes away."""

    def __init__(self) -> None:
        from anyio.from_thread import start_blocking_portal

        manager = start_blocking_portal()
        self.portal: BlockingPortal = manager.__enter__()
        self._stop = weakref.finalize(self, manager.__exit__, None, None, None)

    def run(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        future: Future[T] = self.portal.start_task_soon(lambda: fn(*args, **kwargs))
        try:
            return future.result()
        except BaseException:
            # Interrupted (Ctrl-C) while the call runs on the loop thread: cancel it there
            # rather than let it finish unseen in the background.
            if not future.done():
                future.cancel()
            raise

    def close(self) -> None:
        self._stop()


class ConversationSession:
    """A conversation, blocking API. Same names and behaviour as
    `AsyncConversationSession`; get one from `SessionManager`."""

    def __init__(self, loop: _Loop, session: AsyncConversationSession) -> None:
        self._loop = loop
        self._async = session
        self._stream_thread: int | None = None

    # Reading: plain attribute access on the async session's in-memory state.
    id = property(lambda self: self._async.id)
    user = property(lambda self: self._async.user)
    provider = property(lambda self: self._async.provider)
    model = property(lambda self: self._async.model)
    system = property(lambda self: self._async.system)

    @property
    def mode(self) -> Mode:
        return self._async.mode

    @property
    def status(self) -> SessionStatus:
        return self._async.status

    @property
    def status_reason(self) -> str | None:
        return self._async.status_reason

    @property
    def native_id(self) -> str | None:
        return self._async.native_id

    @property
    def version(self) -> int:
        return self._async.version

    @property
    def usage(self) -> Usage:
        return self._async.usage

    @property
    def metadata(self) -> dict[str, Any]:
        return self._async.metadata

    @property
    def created_at(self) -> datetime:
        return self._async.created_at

    @property
    def updated_at(self) -> datetime:
        return self._async.updated_at

    @property
    def expires_at(self) -> datetime | None:
        return self._async.expires_at

    @property
    def parent_id(self) -> str | None:
        return self._async.parent_id

    @property
    def checkpoints(self) -> list[Checkpoint]:
        return self._async.checkpoints

    @property
    def tools(self) -> list[Tool]:
        return self._async.tools

    @property
    def messages(self) -> list[Message]:
        return self._async.messages

    def __repr__(self) -> str:
        return repr(self._async).replace("AsyncConversationSession", "ConversationSession")

    def _repr_html_(self) -> str:
        return self._async._repr_html_()

    # Everything else: one call on the loop thread.
    def _no_reentry(self, operation: str) -> None:
        # A stream holds the session until it ends; a send from inside the loop that
        # reads it (same thread) would wait for itself forever.
        if self._stream_thread == threading.get_ident():
            raise ValidationError(
                f"cannot {operation} while a stream of this session is open in the same"
                " thread: finish (or close) the stream first"
            )

    def send(self, content: SendInput, *, tools: ToolsArg = None, **options: Any) -> Message:
        self._no_reentry("send")
        return self._loop.run(self._async.send, content, tools=tools, **options)

    def stream(
        self, content: SendInput, *, tools: ToolsArg = None, **options: Any
    ) -> Iterator[StreamEvent]:
        self._no_reentry("stream")
        events = self._async.stream(content, tools=tools, **options)
        pending: Future[StreamEvent] | None = None
        self._stream_thread = threading.get_ident()
        step_over = threading.Event()

        async def step() -> StreamEvent:
            try:
                return await anext(events)
            finally:
                step_over.set()

        try:
            while True:
                step_over.clear()
                pending = self._loop.portal.start_task_soon(step)
                try:
                    event = pending.result()
                except StopAsyncIteration:
                    return
                pending = None
                yield event
        finally:
            if pending is not None and not pending.done():
                # Interrupted (Ctrl-C) while a step ran on the loop thread: cancel it and
                # let it unwind before closing the stream, which would otherwise fail
                # because the generator is still running.
                pending.cancel()
                step_over.wait(timeout=30)
            self._stream_thread = None
            self._loop.run(events.aclose)  # type: ignore[attr-defined]

    def refresh(self) -> None:
        self._loop.run(self._async.refresh)

    def checkpoint(self, label: str | None = None) -> Checkpoint:
        return self._loop.run(self._async.checkpoint, label)

    def restore(self, checkpoint: Checkpoint | str) -> None:
        self._loop.run(self._async.restore, checkpoint)

    def fork(self, **options: Unpack[ForkOptions]) -> ConversationSession:
        return ConversationSession(self._loop, self._loop.run(self._async.fork, **options))

    def export(self) -> dict[str, Any]:
        return self._loop.run(self._async.export)

    def delete(self) -> None:
        self._loop.run(self._async.delete)

    def pause(self) -> None:
        self._loop.run(self._async.pause)

    def resume(self) -> None:
        self._loop.run(self._async.resume)

    def complete(self) -> None:
        self._loop.run(self._async.complete)

    def fail(self, reason: str) -> None:
        self._loop.run(self._async.fail, reason)

    def cancel(self) -> None:
        self._loop.run(self._async.cancel)

    def archive(self) -> None:
        self._loop.run(self._async.archive)

    def reactivate(self) -> None:
        self._loop.run(self._async.reactivate)


class SessionManager:
    """Creates, finds, lists and cleans up sessions; blocking API.

    Takes the same arguments as `AsyncSessionManager`. Use it as a context manager,
    or call ``close()``.
    """

    def __init__(self, store: str | Store | None = None, **options: Any) -> None:
        self._loop = _Loop()
        try:
            self._async: AsyncSessionManager = self._loop.run(_build, store, options)
        except BaseException:
            self._loop.close()
            raise

    @property
    def store(self) -> Store:
        return self._async.store

    def _wrap(self, session: AsyncConversationSession) -> ConversationSession:
        return ConversationSession(self._loop, session)

    def create(
        self, provider: str = "echo", model: str | None = None, **options: Unpack[CreateOptions]
    ) -> ConversationSession:
        return self._wrap(self._loop.run(self._async.create, provider, model, **options))

    def get(self, session_id: str, *, user: str | None = None) -> ConversationSession:
        return self._wrap(self._loop.run(self._async.get, session_id, user=user))

    def list(self, **options: Unpack[ListOptions]) -> Page[SessionInfo]:
        return self._loop.run(self._async.list, **options)

    def delete(self, session_id: str, *, user: str | None = None) -> None:
        self._loop.run(self._async.delete, session_id, user=user)

    def cleanup_expired(self) -> int:
        return self._loop.run(self._async.cleanup_expired)

    def import_session(
        self, data: dict[str, Any], *, user: str | None = None, keep_id: bool = False
    ) -> ConversationSession:
        return self._wrap(
            self._loop.run(self._async.import_session, data, user=user, keep_id=keep_id)
        )

    def close(self) -> None:
        """Close the store and clients, and stop the loop thread. Safe to call twice."""
        if self._loop._stop.alive:
            try:
                self._loop.run(self._async.close)
            finally:
                self._loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


async def _build(store: str | Store | None, options: dict[str, Any]) -> AsyncSessionManager:
    # Built on the loop thread, so everything it creates belongs to that loop.
    return AsyncSessionManager(store, **options)


__all__ = ["ConversationSession", "SessionManager"]
