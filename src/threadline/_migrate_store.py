"""``threadline migrate-store SRC DST``: copy every session from one store to another.

The step a team takes when it outgrows one machine (SQLite to Postgres, say), or
moves between servers. Everything a session is travels: the record as stored (owner,
status, version, expiry, checkpoints, usage, server-side handle) and every message,
expired sessions included. Each session lands in ONE store call (``create``, or a
``commit`` that replaces the history), so an interruption never leaves half a
session; running again resumes, as sessions already identical in the target are
skipped. A session that changed in the source since an earlier run (a higher
version) is brought up to date. A target session of the same id that is not an
older copy of the source's (another owner, another creation time, a version as new
or newer) is a conflict: left untouched and reported.

Works on the blocking face of the stores (``threadline.stores.open_store``). A session
the source cannot parse is skipped by its listing (and logged there), not copied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from ._records import SessionRecord
from .errors import ConcurrencyError, SessionExpiredError, SessionNotFoundError
from .messages import Message, SessionStatus, utcnow
from .stores.base import SessionQuery

Outcome = Literal["copied", "updated", "identical", "conflict", "vanished"]
Progress = Callable[[int, int], None]

PAGE = 500
# Reading with a clock at the epoch returns a record whatever its expiry.
_BEFORE_ANY_EXPIRY = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class MigrationSummary:
    """What a run did (or, with ``dry_run``, would do), by outcome."""

    dry_run: bool
    total: int = 0
    copied: int = 0
    updated: int = 0
    identical: int = 0
    vanished: int = 0
    messages: int = 0
    conflicts: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "total": self.total,
            "copied": self.copied,
            "updated": self.updated,
            "identical": self.identical,
            "vanished": self.vanished,
            "messages": self.messages,
            "conflicts": list(self.conflicts),
        }

    def describe(self) -> str:
        verb = "would copy" if self.dry_run else "copied"
        text = (
            f"{self.total} sessions: {verb} {self.copied}, "
            f"{'would update' if self.dry_run else 'updated'} {self.updated}, "
            f"{self.identical} already identical, {len(self.conflicts)} conflicts"
            f" ({self.messages} messages {'to write' if self.dry_run else 'written'})"
        )
        if self.vanished:
            text += f"; {self.vanished} deleted from the source meanwhile"
        return text


def session_ids(store: Any, now: datetime) -> list[str]:
    """Every session id in ``store``: live and expired, of all users."""
    found: list[str] = []
    for status in (None, SessionStatus.EXPIRED):
        cursor = None
        while True:
            page = store.list_sessions(
                SessionQuery(now=now, status=status, limit=PAGE, cursor=cursor)
            )
            found += [r.id for r in page]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    return found


def _read(store: Any, session_id: str) -> tuple[SessionRecord, list[Message]] | None:
    try:
        record = store.get(session_id, user=None, now=_BEFORE_ANY_EXPIRY)
    except (SessionNotFoundError, SessionExpiredError):
        return None
    return record, store.read_messages(session_id, limit=record.message_count)


def _older_copy(target: SessionRecord, source: SessionRecord) -> bool:
    return (
        target.version < source.version
        and target.user == source.user
        and target.provider == source.provider
        and target.created_at == source.created_at
    )


def copy_session(
    source: Any, target: Any, session_id: str, *, dry_run: bool
) -> tuple[Outcome, int]:
    """Bring one session of ``source`` into ``target``: what happened, and how many
    messages were (or would be) written."""
    read = _read(source, session_id)
    if read is None:
        return "vanished", 0
    record, messages = read
    existing = _read(target, session_id)
    if existing is None:
        if not dry_run:
            target.create(record, messages)
        return "copied", len(messages)
    if existing == (record, messages):
        return "identical", 0
    if not _older_copy(existing[0], record):
        return "conflict", 0
    if not dry_run:
        try:
            # One atomic step: the whole history replaced and the record written.
            target.commit(record, expected_version=existing[0].version, keep=0, append=messages)
        except ConcurrencyError:
            return "conflict", 0  # someone writes to the target meanwhile
    return "updated", len(messages)


def migrate_store(
    source: Any,
    target: Any,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> MigrationSummary:
    """Copy every session of ``source`` into ``target`` (blocking stores)."""
    ids = session_ids(source, utcnow())
    summary = MigrationSummary(dry_run=dry_run, total=len(ids))
    if progress is not None:
        progress(0, len(ids))
    for done, session_id in enumerate(ids, start=1):
        outcome, written = copy_session(source, target, session_id, dry_run=dry_run)
        if outcome == "conflict":
            summary.conflicts.append(session_id)
        else:
            setattr(summary, outcome, getattr(summary, outcome) + 1)
        summary.messages += written
        if progress is not None:
            progress(done, len(ids))
    return summary
