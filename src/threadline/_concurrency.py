"""The few primitives whose meaning is the same on both faces but whose code is not.

The async source (``*_async.py``) uses the ``a``-names; `scripts/gen_sync.py` renames
them to their blocking twins in the generated code (docs/architecture.md). Nothing
else in threadline needs to know which face it runs on.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar

# asyncio is imported when the async face first needs it: a program that only uses the
# blocking API never loads it (it costs more to import than the rest of threadline).

T = TypeVar("T")

__all__ = [
    "ASYNC_FACE",
    "SYNC_FACE",
    "AsyncLock",
    "Face",
    "Lock",
    "aclose_iter",
    "acurrent_task",
    "ashield",
    "asleep",
    "close_iter",
    "current_task",
    "face_of",
    "run_inline",
    "shield",
    "sleep",
]

Face = Literal["async", "sync"]
ASYNC_FACE: Face = "async"
SYNC_FACE: Face = "sync"

# One turn at a time per session object. The sync face's stream holds its lock
# across yields in the caller's thread, so a second send from that same thread is
# refused by the session (it would wait for itself) rather than deadlocking.
if TYPE_CHECKING:
    from asyncio import Lock as AsyncLock  # re-exported for the async face
else:

    def AsyncLock() -> Any:
        import asyncio

        return asyncio.Lock()


Lock = threading.Lock


def acurrent_task() -> object:
    """Who is running: the asyncio task (async face)."""
    import asyncio

    return asyncio.current_task()


def current_task() -> object:
    """Who is running: the thread (sync face)."""
    return threading.get_ident()


async def ashield(work: Awaitable[T]) -> T:
    """Run tidy-up work that a cancellation of the caller must not cut short."""
    import asyncio

    return await asyncio.shield(work)


def shield(value: T) -> T:
    """Blocking code is not cancelled mid-call: the work has already run."""
    return value


async def asleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


def sleep(seconds: float) -> None:
    time.sleep(seconds)


async def aclose_iter(iterator: object) -> None:
    """Close a stream (an async generator, or an SDK stream with ``aclose``)."""
    close = getattr(iterator, "aclose", None)
    if close is not None:
        await close()


def close_iter(iterator: object) -> None:
    """Close a stream (a generator, or an SDK stream with ``close``)."""
    close = getattr(iterator, "close", None)
    if close is not None:
        close()


def face_of(method: Callable[..., Any]) -> Face:
    """Which face an object's method belongs to (a store given to a manager, say)."""
    return ASYNC_FACE if inspect.iscoroutinefunction(method) else SYNC_FACE


def run_inline(work: Awaitable[T]) -> T:
    """Finish a coroutine that never suspends, with no event loop.

    The in-process stores (memory, SQLite) do their I/O on the calling thread and
    never await anything that suspends; this lets the async face read from them in
    a property. Anything that does suspend is refused.
    """
    coroutine = work.__await__()
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    close = getattr(coroutine, "close", None)
    if close is not None:
        close()
    raise RuntimeError("run_inline: the coroutine suspended")
