"""Numbered schema migrations for the Postgres store, and the SQL that applies them.

Each migration is a function ``mNNN_name(schema) -> [statements]`` registered with
``@migration``; the ones that ran are recorded in ``threadline_migrations``. Both faces
of the store apply them on open in ONE transaction that first takes
``pg_advisory_xact_lock``: many processes opening a fresh database at once queue on
the lock, the first applies every missing migration, the others find them recorded.
(``CREATE TABLE IF NOT EXISTS`` alone is not safe there: concurrent creators fail
with "type already exists".) A database recording a migration this code does not
know was written by a newer threadline and is refused. Add a migration by appending a
new numbered function; never edit one that shipped.

Migrations are data (SQL text), so this module does no I/O and is shared by the
async store and its generated sync twin.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..errors import ConfigurationError
from . import _numbered
from ._numbered import numbered

Migration = Callable[[str], list[str]]
MIGRATIONS: list[tuple[int, str, Migration]] = []

# Any 32-bit number that other applications are unlikely to pick: the advisory lock
# is (LOCK_CLASS, hashtext(schema)), so stores in different schemas do not wait for
# each other.
LOCK_CLASS = 0x7E1A_0001
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def quote_schema(schema: str) -> str:
    """The schema as a quoted SQL identifier; only plain lower-case names are taken."""
    if not _IDENTIFIER.fullmatch(schema):
        raise ConfigurationError(
            f"Postgres schema {schema!r} must be lower-case letters, digits and _ "
            "(at most 63, not starting with a digit)"
        )
    return f'"{schema}"'


migration = numbered(MIGRATIONS)


@migration
def m001_initial(s: str) -> list[str]:
    # Text, not jsonb: the store never queries inside the documents, and text came back
    # three times faster (1,000 rows: 1.4 ms vs 4.4 ms) as it needs no re-rendering.
    # Ids compare bytewise (COLLATE "C"), as in the other stores, whatever the
    # database's locale: keyset cursors mean the same everywhere, and compare faster.
    return [
        f"""
        CREATE TABLE {s}.threadline_sessions (
            id            text COLLATE "C" PRIMARY KEY,
            user_id       text COLLATE "C",
            provider      text NOT NULL,
            status        text NOT NULL,
            version       bigint NOT NULL,
            created_us    bigint NOT NULL,
            updated_us    bigint NOT NULL,
            expires_us    bigint,
            message_count integer NOT NULL,
            data          text NOT NULL
        )
        """,
        f"""
        CREATE TABLE {s}.threadline_messages (
            session_id text COLLATE "C" NOT NULL,
            seq        integer NOT NULL,
            data       text NOT NULL,
            PRIMARY KEY (session_id, seq)
        )
        """,
        # Keyset paging newest first, by one user and across users, by creation and
        # by last write; and the expiry sweep.
        f"CREATE INDEX threadline_sessions_user_created"
        f" ON {s}.threadline_sessions (user_id, created_us, id)",
        f"CREATE INDEX threadline_sessions_user_updated"
        f" ON {s}.threadline_sessions (user_id, updated_us, id)",
        f"CREATE INDEX threadline_sessions_created ON {s}.threadline_sessions (created_us, id)",
        f"CREATE INDEX threadline_sessions_updated ON {s}.threadline_sessions (updated_us, id)",
        f"CREATE INDEX threadline_sessions_expiry ON {s}.threadline_sessions (expires_us, id)"
        " WHERE expires_us IS NOT NULL",
    ]


def bootstrap_sql(s: str) -> list[str]:
    """Run under the lock, before reading which migrations ran."""
    return [
        f"CREATE TABLE IF NOT EXISTS {s}.threadline_migrations ("
        " number integer PRIMARY KEY, name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())"
    ]


def pending(done: set[int], where: str) -> list[tuple[int, str, Migration]]:
    """The migrations still to apply, or `StoreError` for a newer schema."""
    return _numbered.pending(MIGRATIONS, done, where)
