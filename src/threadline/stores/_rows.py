"""Stored JSON back into records and messages, the same way for every server store.

A row that cannot be parsed is a `StoreError` naming its session when that session is
asked for; in a listing it is skipped (and logged by id) so one damaged session cannot
hide the others; in the expiry sweep it comes back without its record, because it must
still be removed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from pydantic import ValidationError as PydanticValidationError

from .._records import SessionRecord
from ..errors import StoreError
from ..messages import Message, messages_from_json

logger = logging.getLogger("threadline")


def record_from_json(session_id: str, data: str | bytes | None) -> SessionRecord:
    if data is None:
        raise StoreError(f"session {session_id!r} has no record", session_id=session_id)
    try:
        return SessionRecord.model_validate_json(data)
    except PydanticValidationError as exc:
        raise StoreError(
            f"session {session_id!r} has a corrupt record: {exc.errors()[0]['msg']}",
            session_id=session_id,
        ) from exc


def records_skipping_corrupt(
    rows: Iterable[tuple[str, str | bytes | None]], where: str
) -> list[SessionRecord]:
    records = []
    for session_id, data in rows:
        try:
            records.append(record_from_json(session_id, data))
        except StoreError:
            logger.warning("skipping corrupt session row %s in %s", session_id, where)
    return records


def expired_entries(
    rows: Iterable[tuple[str, str | bytes | None]],
) -> list[tuple[str, SessionRecord | None]]:
    entries: list[tuple[str, SessionRecord | None]] = []
    for session_id, data in rows:
        try:
            entries.append((session_id, record_from_json(session_id, data)))
        except StoreError:
            entries.append((session_id, None))  # corrupt, but still to be removed
    return entries


def messages_from_rows(session_id: str, rows: Sequence[str | bytes]) -> list[Message]:
    try:
        return messages_from_json(rows)
    except (PydanticValidationError, ValueError) as exc:
        raise StoreError(
            f"session {session_id!r} has a corrupt message row", session_id=session_id
        ) from exc
