"""Numbered schema migrations for the SQLite store, applied in order on open.

Each migration is a function registered with ``@migration``; the ones that ran are
recorded in ``threadline_migrations``. A database recording a migration this code does
not know was written by a newer threadline and is refused rather than guessed at.
Add a migration by appending a new numbered function; never edit one that shipped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

from ..errors import StoreError
from ._numbered import numbered, pending

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[tuple[int, str, Migration]] = []


migration = numbered(MIGRATIONS)


@migration
def m001_initial(db: sqlite3.Connection) -> None:
    db.execute(
        """
        CREATE TABLE sessions (
            id            TEXT PRIMARY KEY,
            user_id       TEXT,
            provider      TEXT NOT NULL,
            status        TEXT NOT NULL,
            version       INTEGER NOT NULL,
            created_us    INTEGER NOT NULL,
            updated_us    INTEGER NOT NULL,
            expires_us    INTEGER,
            message_count INTEGER NOT NULL,
            data          TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE messages (
            session_id TEXT NOT NULL,
            seq        INTEGER NOT NULL,
            data       TEXT NOT NULL,
            PRIMARY KEY (session_id, seq)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE INDEX sessions_by_user_created ON sessions (user_id, created_us, id)")


@migration
def m002_list_by_update_and_expiry(db: sqlite3.Connection) -> None:
    # `threadline chat -c` and `list(order_by="updated")` sort by last use; cleanup
    # scans by expiry. Both were full scans under m001.
    db.execute("CREATE INDEX sessions_by_user_updated ON sessions (user_id, updated_us, id)")
    db.execute(
        "CREATE INDEX sessions_by_expiry ON sessions (expires_us) WHERE expires_us IS NOT NULL"
    )


@migration
def m003_list_across_users(db: sqlite3.Connection) -> None:
    # An unscoped list (the CLI, an admin page) sorted by time scanned every row:
    # 113 ms at 100k sessions. These serve it newest-first from the index.
    db.execute("CREATE INDEX sessions_by_created ON sessions (created_us, id)")
    db.execute("CREATE INDEX sessions_by_updated ON sessions (updated_us, id)")


def applied(db: sqlite3.Connection) -> set[int] | None:
    """The migrations recorded, or None when the table itself does not exist yet."""
    try:
        return {row[0] for row in db.execute("SELECT number FROM threadline_migrations")}
    except sqlite3.OperationalError:
        return None


def check_current(db: sqlite3.Connection, path: str) -> None:
    """For a store opened read-only: its schema must be exactly this code's."""
    try:
        done = {row[0] for row in db.execute("SELECT number FROM threadline_migrations")}
    except sqlite3.OperationalError:
        done = set()
    known = {number for number, _, _ in MIGRATIONS}
    if done != known:
        raise StoreError(
            f"{path} is opened read-only but its schema is "
            + ("newer than this threadline knows" if done - known else "not up to date")
            + ": open it writable once (with this threadline) to migrate it"
        )


def migrate(db: sqlite3.Connection, path: str, *, up_to: int | None = None) -> list[str]:
    """Apply the missing migrations in one transaction; return their names.

    One transaction, so a new file costs one commit (one fsync at ``synchronous=FULL``)
    rather than one per migration, and a failing migration leaves the schema as it was.
    """
    # The common case, an existing and current store: one read, no write lock taken.
    done = applied(db)
    if done is not None and not pending(MIGRATIONS, done, path, up_to=up_to):
        return []
    db.execute("BEGIN IMMEDIATE")
    try:
        # Read again under the write lock: another process may have migrated meanwhile.
        db.execute(
            "CREATE TABLE IF NOT EXISTS threadline_migrations ("
            " number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        ran = []
        for number, name, fn in pending(MIGRATIONS, applied(db) or set(), path, up_to=up_to):
            fn(db)
            db.execute(
                "INSERT INTO threadline_migrations VALUES (?, ?, ?)",
                (number, name, datetime.now(UTC).isoformat()),
            )
            ran.append(name)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return ran
