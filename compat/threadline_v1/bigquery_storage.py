"""`BigQuerySessionStorage` (`langswarm.core.session.bigquery_storage`), reproduced.

Append-only v1 storage on BigQuery: every save appends a session event, a load reads
the newest, a delete appends a deletion event. ``google-cloud-bigquery`` is optional:
this module imports without it, and building the storage without it raises an
ImportError that says what to install. Other methods keep v1's return conventions.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from importlib import import_module
from typing import Any

from .models import LangSwarmSession, SessionMetadata, SessionStatus
from .storage import SessionStorage, apply_updates, valid_v1_id

__all__ = ["BigQuerySessionStorage", "bigquery_available"]

logger = logging.getLogger("threadline.v1")

_LATEST = """
SELECT s.session_data FROM `{table}` s
WHERE s.session_id = @session_id AND s.event_type IN ('session_created', 'session_updated')
  AND s.session_data IS NOT NULL
  AND NOT EXISTS (
    SELECT 1 FROM `{table}` d WHERE d.session_id = @session_id
      AND d.event_type = 'session_deleted' AND d.event_timestamp > s.event_timestamp)
ORDER BY s.event_timestamp DESC LIMIT 1
"""

_LIST = """
WITH latest AS (
  SELECT session_id, session_data, event_timestamp,
    ROW_NUMBER() OVER (PARTITION BY session_id ORDER BY event_timestamp DESC) AS rn
  FROM `{table}`
  WHERE event_type IN ('session_created', 'session_updated') AND session_data IS NOT NULL
    {user_filter}
)
SELECT session_data FROM latest
WHERE rn = 1 AND NOT EXISTS (
  SELECT 1 FROM `{table}` d WHERE d.session_id = latest.session_id
    AND d.event_type = 'session_deleted' AND d.event_timestamp > latest.event_timestamp)
ORDER BY event_timestamp DESC LIMIT @limit
"""

_EXPIRED = """
SELECT DISTINCT session_id FROM `{table}`
WHERE event_type IN ('session_created', 'session_updated') AND event_timestamp < @cutoff
  AND session_id NOT IN (SELECT session_id FROM `{table}` WHERE event_type = 'session_deleted')
"""


def _bigquery() -> Any:
    try:
        return import_module("google.cloud.bigquery")
    except ImportError as exc:
        raise ImportError(
            "BigQuery session storage needs google-cloud-bigquery:"
            " pip install google-cloud-bigquery"
        ) from exc


def bigquery_available() -> bool:
    try:
        _bigquery()
    except ImportError:
        return False
    return True


class BigQuerySessionStorage(SessionStorage):
    def __init__(self, project_id: str, dataset_id: str, table_id: str = "session_events") -> None:
        self.bigquery = _bigquery()
        self.project_id = project_id
        self.dataset_id = dataset_id
        self.table_id = table_id
        self.table_ref = f"{project_id}.{dataset_id}.{table_id}"
        self.client = self.bigquery.Client(project=project_id)
        self._ensure_table_exists()

    def _ensure_table_exists(self) -> None:
        bq = self.bigquery
        try:
            self.client.get_table(self.table_ref)
            return
        except Exception:
            pass  # not there yet: create it below
        schema = [
            bq.SchemaField("event_id", "STRING", mode="REQUIRED"),
            bq.SchemaField("session_id", "STRING", mode="REQUIRED"),
            bq.SchemaField("user_id", "STRING", mode="NULLABLE"),
            bq.SchemaField("event_type", "STRING", mode="REQUIRED"),
            bq.SchemaField("event_timestamp", "TIMESTAMP", mode="REQUIRED"),
            bq.SchemaField("session_data", "JSON", mode="NULLABLE"),
            bq.SchemaField("message_data", "JSON", mode="NULLABLE"),
            bq.SchemaField("metadata", "JSON", mode="NULLABLE"),
        ]
        table = bq.Table(self.table_ref, schema=schema)
        table.time_partitioning = bq.TimePartitioning(
            type_=bq.TimePartitioningType.DAY, field="event_timestamp"
        )
        table.clustering_fields = ["session_id", "user_id", "event_type"]
        self.client.create_table(table)

    def _query(self, sql: str, **params: tuple[str, Any]) -> list[Any]:
        bq = self.bigquery
        config = bq.QueryJobConfig(
            query_parameters=[
                bq.ScalarQueryParameter(name, kind, value) for name, (kind, value) in params.items()
            ]
        )
        return list(self.client.query(sql.format(table=self.table_ref, user_filter=""), config))

    def _append(self, event: dict[str, Any]) -> bool:
        errors = self.client.insert_rows_json(self.table_ref, [event])
        if errors:
            logger.error("BigQuery rejected an event of session %s", event["session_id"])
        return not errors

    def _event(self, session_id: str, kind: str, **fields: Any) -> dict[str, Any]:
        now = datetime.now(UTC).isoformat()
        return {
            "event_id": str(uuid.uuid4()),
            "session_id": session_id,
            "user_id": fields.pop("user_id", None),
            "event_type": kind,
            "event_timestamp": now,
            "session_data": fields.pop("session_data", None),
            "message_data": None,
            "metadata": {"source": "langswarm_session_storage", **fields},
        }

    def save_session(self, session: LangSwarmSession) -> bool:
        try:
            if not valid_v1_id(session.session_id):
                raise ValueError("invalid session id")
            kind = "session_updated" if self._latest(session.session_id) else "session_created"
            return self._append(
                self._event(
                    session.session_id,
                    kind,
                    user_id=session.user_id,
                    session_data=session.to_dict(),
                    created_at=session.metadata.created_at.isoformat(),
                    updated_at=session.metadata.updated_at.isoformat(),
                )
            )
        except Exception as exc:
            logger.error("could not save session %.60r: %s", session.session_id, exc)
            return False

    def _latest(self, session_id: str) -> dict[str, Any] | None:
        rows = self._query(_LATEST, session_id=("STRING", session_id))
        return rows[0].session_data if rows else None

    def load_session(self, session_id: str) -> LangSwarmSession | None:
        try:
            if not valid_v1_id(session_id):
                raise ValueError("invalid session id")
            data = self._latest(session_id)
            return LangSwarmSession.from_dict(data) if data else None
        except Exception as exc:
            logger.error("could not load session %.60r: %s", session_id, exc)
            return None

    def delete_session(self, session_id: str) -> bool:
        try:
            if not valid_v1_id(session_id):
                raise ValueError("invalid session id")
            deleted_at = datetime.now(UTC).isoformat()
            return self._append(self._event(session_id, "session_deleted", deleted_at=deleted_at))
        except Exception as exc:
            logger.error("could not delete session %.60r: %s", session_id, exc)
            return False

    def list_sessions(
        self,
        user_id: str | None = None,
        status: SessionStatus | None = None,
        limit: int = 100,
    ) -> list[SessionMetadata]:
        try:
            bq = self.bigquery
            params = [bq.ScalarQueryParameter("limit", "INT64", limit)]
            user_filter = ""
            if user_id:
                user_filter = "AND user_id = @user_id"
                params.append(bq.ScalarQueryParameter("user_id", "STRING", user_id))
            sql = _LIST.format(table=self.table_ref, user_filter=user_filter)
            rows = self.client.query(sql, bq.QueryJobConfig(query_parameters=params))
            found = [
                SessionMetadata.from_dict(row.session_data.get("metadata", {})) for row in rows
            ]
        except Exception as exc:
            logger.error("could not list sessions: %s", exc)
            return []
        return [meta for meta in found if status is None or meta.status == status][:limit]

    def update_session_metadata(self, session_id: str, metadata: dict[str, Any]) -> bool:
        session = self.load_session(session_id)
        if session is None:
            return False
        apply_updates(session, metadata)
        return self.save_session(session)

    def cleanup_expired_sessions(self, max_age_days: int = 30) -> int:
        try:
            cutoff = datetime.now(UTC) - timedelta(days=max_age_days)
            rows = self._query(_EXPIRED, cutoff=("TIMESTAMP", cutoff))
        except Exception as exc:
            logger.error("could not find expired sessions: %s", exc)
            return 0
        return sum(self.delete_session(row.session_id) for row in rows)
