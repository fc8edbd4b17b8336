"""The SQL of the Postgres store, written once for both of its faces.

Pure text and parameters (no I/O), so the async store and its generated sync twin
share every statement. The turn commit is the one to read: the compare-and-set and
the message insert are ONE statement, the insert reading the ids the ``UPDATE``
returned, so a stale version (no row updated) inserts nothing and no transaction is
held open across round trips.
"""

from __future__ import annotations

from typing import Any

from .._records import SessionRecord
from .base import to_micros

_SESSION_COLUMNS = (
    "id, user_id, provider, status, version, created_us, updated_us, expires_us,"
    " message_count, data"
)


def statements(s: str) -> dict[str, str]:
    sessions, messages = f"{s}.threadline_sessions", f"{s}.threadline_messages"
    append = (
        f"INSERT INTO {messages} (session_id, seq, data)"
        " SELECT s.id, %(base)s + n.ord - 1, n.data"
        " FROM s, unnest(%(messages)s::text[]) WITH ORDINALITY AS n(data, ord)"
    )
    update = (
        f"UPDATE {sessions} SET status = %(status)s, version = %(version)s,"
        " updated_us = %(updated)s, expires_us = %(expires)s,"
        " message_count = %(count)s, data = %(data)s"
        " WHERE id = %(id)s AND version = %(expected)s"
    )
    return {
        "create": (
            f"WITH s AS (INSERT INTO {sessions} ({_SESSION_COLUMNS}) VALUES (%(id)s, %(user)s,"
            " %(provider)s, %(status)s, %(version)s, %(created)s, %(updated)s, %(expires)s,"
            " %(count)s, %(data)s) ON CONFLICT (id) DO NOTHING RETURNING id),"
            f" m AS ({append} ON CONFLICT (session_id, seq) DO UPDATE SET data = EXCLUDED.data)"
            " SELECT count(*) FROM s"
        ),
        # The compare-and-set and the append in one statement: `m` reads from `s`, so a
        # stale version (no row updated) inserts nothing.
        "commit": (
            f"WITH s AS ({update} AND message_count = %(base)s RETURNING id),"
            f" m AS ({append}) SELECT count(*) FROM s"
        ),
        # Restore: keep the first `base` messages, then append. Rows past the new end
        # are deleted and rows in [base, count) are overwritten, so the delete and the
        # insert never touch the same key within the statement.
        "commit_restore": (
            f"WITH s AS ({update} AND message_count >= %(base)s RETURNING id),"
            f" cut AS (DELETE FROM {messages} WHERE session_id = (SELECT id FROM s)"
            " AND seq >= %(count)s),"
            f" m AS ({append} ON CONFLICT (session_id, seq) DO UPDATE SET data = EXCLUDED.data)"
            " SELECT count(*) FROM s"
        ),
        "probe": f"SELECT version, message_count FROM {sessions} WHERE id = %s",
        "get": (
            "SELECT data, expires_us IS NOT NULL AND expires_us <= %s"
            f" FROM {sessions} WHERE id = %s"
        ),
        "read": (
            f"SELECT data FROM {messages} WHERE session_id = %s AND seq >= %s ORDER BY seq LIMIT %s"
        ),
        "delete": f"DELETE FROM {sessions} WHERE id = %s",
        "delete_messages": f"DELETE FROM {messages} WHERE session_id = %s",
        "delete_many": f"DELETE FROM {sessions} WHERE id = ANY(%s)",
        "delete_many_messages": f"DELETE FROM {messages} WHERE session_id = ANY(%s)",
        "expired": (
            f"SELECT id, data FROM {sessions} WHERE expires_us IS NOT NULL AND expires_us <= %s"
            " ORDER BY expires_us, id LIMIT %s"
        ),
        "sessions": sessions,
    }


def record_params(record: SessionRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "user": record.user,
        "provider": record.provider,
        "status": record.status.value,
        "version": record.version,
        "created": to_micros(record.created_at),
        "updated": to_micros(record.updated_at),
        "expires": None if record.expires_at is None else to_micros(record.expires_at),
        "count": record.message_count,
        "data": record.model_dump_json(),
    }
