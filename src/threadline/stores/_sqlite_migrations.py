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

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[tuple[int, str, Migration]] = []


def migration(fn: Migration) -> Migration:
    number = int(fn.__name__[1:4])
    assert number == len(MIGRATIONS) + 1, f"migrations must be numbered in order: {fn.__name__}"
    MIGRATIONS.append((number, fn.__name__, fn))
    return fn


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


def applied(db: sqlite3.Connection) -> set[int]:
    try:
        # The common case, an existing store: one read, no schema write to check.
        return {row[0] for row in db.execute("SELECT number FROM threadline_migrations")}
    except sqlite3.OperationalError:
        db.execute(
            "CREATE TABLE IF NOT EXISTS threadline_migrations ("
            " number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        return set()


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
    """Apply the missing migrations (each in its own transaction); return their names."""
    done = applied(db)
    known = {number for number, _, _ in MIGRATIONS}
    if unknown := sorted(done - known):
        raise StoreError(
            f"{path} has schema migration {unknown[-1]}, newer than this threadline knows "
            f"(latest {max(known)}); upgrade threadline to open it"
        )
    ran = []
    for number, name, fn in MIGRATIONS:
        if number in done or (up_to is not None and number > up_to):
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have applied it while we waited for the write lock.
            if db.execute(
                "SELECT 1 FROM threadline_migrations WHERE number = ?", (number,)
            ).fetchone():
                db.execute("COMMIT")
                continue
            fn(db)
            db.execute(
                "INSERT INTO threadline_migrations VALUES (?, ?, ?)",
                (number, name, datetime.now(UTC).isoformat()),
            )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        ran.append(name)
    return ran
