"""``threadline migrate-v1``: move every session of a LangSwarm v1 database into a store.

The v1 file is opened read-only (SQLite ``mode=ro``): the migration never writes it.
Each v1 session becomes a threadline session through the shim's one conversion
(`threadline_v1.convert`) and ``import_session(..., keep_id=True)``, one atomic write
per session. A session already in the store (same id, same v1 origin) is left alone,
so a second run adds nothing and an interrupted run resumes where it stopped. A
session that cannot be moved is reported with the reason and the run goes on.

This sits with the CLI, above the shim: it is the one place in ``threadline`` that
imports ``threadline_v1``. Logs carry counts and ids, never message content.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from threadline_v1.convert import (
    V1_KEY,
    ConversionError,
    KeptProvider,
    threadline_provider,
    to_threadline_document,
)
from threadline_v1.models import LangSwarmSession

from . import SessionManager
from .errors import (
    ConfigurationError,
    SessionNotFoundError,
    StoreError,
    ThreadlineError,
    ValidationError,
)
from .stores import default_store_url

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["MigrationProblem", "MigrationSummary", "migrate_v1", "print_summary"]

logger = logging.getLogger("threadline")

Progress = Callable[[int, int], None]
"""Called after each session with (sessions done, sessions in the file)."""

_REQUIRED_COLUMNS = {"session_id", "provider", "metadata", "history"}


@dataclass(frozen=True)
class MigrationProblem:
    session_id: str
    reason: str


@dataclass
class MigrationSummary:
    """What a run did (or, with ``dry_run``, would do)."""

    source: str
    store: str
    dry_run: bool
    total: int = 0
    migrated: list[str] = field(default_factory=list)
    """Threadline ids of the sessions moved (or movable) by this run."""
    already_present: list[str] = field(default_factory=list)
    failed: list[MigrationProblem] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)
    """v1 ids threadline refuses, and the ids the sessions got instead."""
    notes: list[MigrationProblem] = field(default_factory=list)
    """Adjustments made while converting (a tool call without a result, ...)."""
    messages: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "store": self.store,
            "dry_run": self.dry_run,
            "total": self.total,
            "migrated": self.migrated,
            "already_present": self.already_present,
            "failed": [{"session_id": p.session_id, "reason": p.reason} for p in self.failed],
            "renamed": self.renamed,
            "notes": [{"session_id": p.session_id, "note": p.reason} for p in self.notes],
            "messages": self.messages,
        }


def _open_read_only(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise ConfigurationError(f"{path}: no such file")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open {path}: {exc}") from None
    conn.row_factory = sqlite3.Row
    try:
        columns = {row["name"] for row in conn.execute("PRAGMA table_info(sessions)")}
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise ValidationError(f"{path} is not a SQLite database ({exc})") from None
    if not columns >= _REQUIRED_COLUMNS:
        conn.close()
        raise ValidationError(f"{path} is not a LangSwarm v1 session database (no sessions table)")
    return conn


def _rows(conn: sqlite3.Connection) -> Iterator[sqlite3.Row]:
    # Oldest first, so a resumed run meets the sessions in the same order.
    yield from conn.execute(
        "SELECT session_id, metadata, history FROM sessions ORDER BY created_at, session_id"
    )


def _read(row: sqlite3.Row) -> LangSwarmSession:
    try:
        data = {"metadata": json.loads(row["metadata"]), "history": json.loads(row["history"])}
    except (TypeError, json.JSONDecodeError) as exc:
        raise ConversionError(f"its metadata or history is not JSON ({exc})") from None
    try:
        return LangSwarmSession.from_dict(data)
    except KeyError as exc:
        raise ConversionError(f"not a v1 session: missing field {exc}") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise ConversionError(f"not a v1 session: {exc}") from None


def _sqlite_file_missing(store: str) -> bool:
    # A dry run must not create the target: a SQLite file that is not there yet holds
    # nothing to compare with.
    return (
        store.startswith("sqlite:///")
        and not Path(store[len("sqlite:///") :].split("?", 1)[0]).exists()
    )


def _present(target: SessionManager | None, new_id: str, v1_id: str) -> bool:
    """Whether the session is already in the target; raises if its id is taken."""
    if target is None:
        return False
    try:
        found = target.get(new_id)
    except SessionNotFoundError:
        return False
    origin = found.metadata.get(V1_KEY)
    if isinstance(origin, dict) and origin.get("session_id") == v1_id:
        return True
    raise ConversionError(f"the store already holds another session with id {new_id}")


def migrate_v1(
    v1_db: str | Path,
    store: str | None = None,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    timezone: tzinfo | None = None,
) -> MigrationSummary:
    """Move every session of the v1 SQLite file ``v1_db`` into the store ``store``.

    ``store``: a store URL (default: ``$THREADLINE_STORE``, else the default file).
    ``dry_run``: convert and check every session (against a scratch in-memory store)
    and report, writing nothing. ``timezone``: the zone v1's naive timestamps were
    written in (default: this machine's). Raises `ThreadlineError` when the file is
    not a v1 database or the store cannot be opened; per-session problems go into the
    summary instead.
    """
    path = Path(v1_db)
    store = store or default_store_url()
    summary = MigrationSummary(source=str(path), store=store, dry_run=dry_run)
    with closing(_open_read_only(path)) as conn:
        try:
            _run(conn, summary, progress, timezone)
        except sqlite3.Error as exc:
            # The file went bad under us, or is damaged past the pages read so far.
            raise StoreError(f"cannot read {path}: {exc}") from None
    logger.info(
        "migrate-v1%s: %d sessions, %d migrated, %d already present, %d failed",
        " (dry run)" if dry_run else "",
        summary.total,
        len(summary.migrated),
        len(summary.already_present),
        len(summary.failed),
    )
    return summary


def _run(
    conn: sqlite3.Connection,
    summary: MigrationSummary,
    progress: Progress | None,
    timezone: tzinfo | None,
) -> None:
    summary.total = conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]
    names = {
        threadline_provider(str(row[0]))
        for row in conn.execute("SELECT DISTINCT provider FROM sessions")
    }
    # Only records are written: stand-ins take every provider's name, so nothing
    # builds a client, and providers threadline lacks are kept by name.
    stand_ins = [KeptProvider(name) for name in sorted(names) if name != "echo"]
    target: SessionManager | None = None
    scratch: SessionManager | None = None
    try:
        if not (summary.dry_run and _sqlite_file_missing(summary.store)):
            target = SessionManager(summary.store, providers=stand_ins)
        if summary.dry_run:
            scratch = SessionManager("memory://", providers=stand_ins)
        for done, row in enumerate(_rows(conn), start=1):
            _migrate_one(row, target, scratch, summary, timezone)
            if progress is not None:
                progress(done, summary.total)
    finally:
        for manager in (target, scratch):
            if manager is not None:
                manager.close()


def _migrate_one(
    row: sqlite3.Row,
    target: SessionManager | None,
    scratch: SessionManager | None,
    summary: MigrationSummary,
    timezone: tzinfo | None,
) -> None:
    v1_id = str(row["session_id"])
    try:
        session = _read(row)
        if session.session_id != v1_id:
            raise ConversionError(f"its metadata names another session ({session.session_id})")
        document, notes = to_threadline_document(session, tz=timezone)
        new_id = document["session"]["id"]
        if _present(target, new_id, v1_id):
            summary.already_present.append(new_id)
            return
        if scratch is not None:
            scratch.import_session(document, keep_id=True).delete()
        else:
            assert target is not None
            target.import_session(document, keep_id=True)
    except (ConversionError, ThreadlineError) as exc:
        summary.failed.append(MigrationProblem(v1_id, str(exc)))
        return
    except Exception as exc:  # one bad session must not stop the others
        summary.failed.append(MigrationProblem(v1_id, f"{type(exc).__name__}: {exc}"))
        return
    summary.migrated.append(new_id)
    summary.messages += len(document["messages"])
    if new_id != v1_id:
        summary.renamed[v1_id] = new_id
    summary.notes += [MigrationProblem(v1_id, note) for note in notes]


def print_summary(console: Console, summary: MigrationSummary) -> None:
    """The summary as a few lines for a person (``--json`` gives the whole of it)."""
    from rich.text import Text

    verb = "would migrate" if summary.dry_run else "migrated"
    console.print(
        f"{verb} {len(summary.migrated)} of {summary.total} sessions"
        f" ({summary.messages} messages) from {summary.source} to {summary.store}"
    )
    if summary.already_present:
        console.print(f"already in the store: {len(summary.already_present)} (left as they are)")
    for v1_id, new_id in summary.renamed.items():
        console.print(f"renamed: {v1_id!r} -> {new_id} (not a valid threadline id)")
    if summary.notes:
        console.print(f"adjusted: {len(summary.notes)} (see --json for each)")
    if summary.failed:
        console.print(Text(f"could not migrate {len(summary.failed)}:", "red"))
        for problem in summary.failed:
            console.print(f"  {problem.session_id}: {problem.reason}")
