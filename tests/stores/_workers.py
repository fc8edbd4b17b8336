"""Work that the concurrency tests run in several processes (or threads) at once.

Functions here are importable by name, as ``multiprocessing``'s forkserver start method
needs: each child builds its own store from the backend name and URL.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from _backends import make_store

from threadline._records import SessionRecord
from threadline.errors import ConcurrencyError
from threadline.messages import Message

NOW = datetime(2026, 1, 1, tzinfo=UTC)


async def append_turns(store: Any, session_id: str, writer: int, turns: int) -> int:
    """Commit ``turns`` user/assistant pairs, re-reading after each conflict; return
    how many conflicts there were."""
    conflicts = 0
    for turn in range(turns):
        while True:
            record = await store.get(session_id, user=None, now=NOW)
            pair = [
                Message.user(f"w{writer} t{turn}"),
                Message.assistant(f"w{writer} t{turn} reply"),
            ]
            new = record.model_copy(
                update={
                    "version": record.version + 1,
                    "message_count": record.message_count + 2,
                    "updated_at": record.updated_at + timedelta(microseconds=1),
                }
            )
            try:
                await store.commit(new, expected_version=record.version, append=pair)
                break
            except ConcurrencyError:
                conflicts += 1
    return conflicts


def append_turns_in_process(
    backend: str, url: str, session_id: str, writer: int, turns: int, start_at: float
) -> int:
    """`append_turns` with a store of its own, starting at ``start_at`` (time.time())
    so that the writers overlap."""

    async def run() -> int:
        store = make_store(backend, url)
        try:
            await store.get(session_id, user=None, now=NOW)  # connected before the start
            await asyncio.sleep(max(0.0, start_at - time.time()))
            return await append_turns(store, session_id, writer, turns)
        finally:
            await store.close()

    return asyncio.run(run())


def open_fresh_store(backend: str, url: str, writer: int) -> list[str]:
    """Open a store on data nobody opened yet, write one session; return the
    migrations this store object applied (stores that do not say: empty)."""

    async def run() -> list[str]:
        store = make_store(backend, url)
        try:
            record = SessionRecord(
                id=f"ses_first_open_{writer}", provider="echo", model="echo-1", created_at=NOW
            )
            await store.create(record)
            return list(getattr(store, "migrations_applied", []))
        finally:
            await store.close()

    return asyncio.run(run())
