"""Search backends for the v1 hybrid manager (`langswarm.core.session.adapters_bridge`).

v1 wrapped LangSwarm's memory adapters (ChromaDB, Redis, Qdrant ...) in
`SessionDatabaseBridge`. threadline does not ship those adapters: the factory still
builds them when LangSwarm's memory package is installed, and otherwise logs a clear
error and returns None, as v1 did for a backend that failed (the hybrid manager then
runs in basic mode). `MockSessionAdapter` is the in-memory index v1 tests used; any
object with ``add_documents``/``query`` (and ``delete``) works as an adapter.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from importlib import import_module
from typing import Any, Protocol

__all__ = [
    "DatabaseAdapter",
    "HybridAdapterFactory",
    "MockSessionAdapter",
    "SessionDatabaseBridge",
]

logger = logging.getLogger("threadline.v1")


class DatabaseAdapter(Protocol):
    """What the bridge needs of a LangSwarm memory adapter."""

    def add_documents(self, documents: list[dict[str, Any]]) -> Any: ...

    def query(self, query: str, filters: Any = None, k: int = 10) -> list[dict[str, Any]]: ...


class SessionDatabaseBridge:
    """Session documents (``key``/``text``/``metadata``) onto a memory adapter."""

    def __init__(self, adapter: DatabaseAdapter) -> None:
        self.adapter = adapter

    def add_documents(self, documents: list[dict[str, Any]]) -> Any:
        converted = [
            {"id": d.get("key", ""), "text": d.get("text", ""), "metadata": d.get("metadata", {})}
            for d in documents
        ]
        return self.adapter.add_documents(converted)

    def query(
        self, query: str, filters: dict[str, Any] | None = None, k: int = 10
    ) -> list[dict[str, Any]]:
        results = self.adapter.query(
            query=query, filters=self._convert_filters(filters) if filters else None, k=k
        )
        return [
            {
                "id": r.get("id"),
                "text": r.get("text", ""),
                "metadata": r.get("metadata", {}),
                "score": r.get("score", 0.0),
            }
            for r in results
        ]

    @staticmethod
    def _convert_filters(filters: dict[str, Any]) -> dict[str, Any]:
        suffixes = {"==": "", "!=": "_not", ">=": "_gte", "<=": "_lte"}
        converted: dict[str, Any] = {}
        for condition in filters.get("conditions", []):
            suffix = suffixes.get(condition.get("operator"))
            if suffix is not None:
                converted[f"{condition.get('field')}{suffix}"] = condition.get("value")
        return converted


# backend -> (module in LangSwarm's memory package, adapter class)
_BACKENDS = {
    "chromadb": ("chromadb", "ChromaDBAdapter"),
    "sqlite": ("sqlite", "SQLiteAdapter"),
    "redis": ("redis", "RedisAdapter"),
    "qdrant": ("qdrant", "QdrantAdapter"),
    "elasticsearch": ("elasticsearch", "ElasticsearchAdapter"),
    "bigquery": ("bigquery", "BigQueryAdapter"),
    "gcs": ("gcs", "GCSAdapter"),
}


def load_memory_adapter(backend: str) -> Callable[..., Any]:
    """LangSwarm's memory adapter class for ``backend``, or a clear ImportError."""
    module, cls = _BACKENDS[backend]
    path = f"langswarm.v1.memory.adapters._langswarm.{module}.main"
    try:
        adapter: Callable[..., Any] = getattr(import_module(path), cls)
    except ImportError as exc:
        raise ImportError(
            f"the {backend} session backend needs LangSwarm's memory adapters ({path}),"
            " which threadline does not ship: install LangSwarm's memory package, or pass"
            " any object with add_documents()/query() to SessionDatabaseBridge"
        ) from exc
    return adapter


class HybridAdapterFactory:
    """Builds bridged backends; None (with the reason logged) when one cannot be built."""

    @classmethod
    def create_adapter(cls, adapter_type: str, **config: Any) -> SessionDatabaseBridge | None:
        backend = adapter_type.lower()
        if backend not in _BACKENDS:
            logger.error("unknown session search backend: %s", adapter_type)
            return None
        try:
            return SessionDatabaseBridge(load_memory_adapter(backend)(**config))
        except Exception as exc:
            logger.error("could not create the %s session backend: %s", backend, exc)
            return None

    @classmethod
    def create_chromadb_adapter(cls, **config: Any) -> SessionDatabaseBridge | None:
        return cls.create_adapter("chromadb", **config)

    @classmethod
    def create_sqlite_adapter(cls, **config: Any) -> SessionDatabaseBridge | None:
        return cls.create_adapter("sqlite", **config)

    @classmethod
    def create_redis_adapter(cls, **config: Any) -> SessionDatabaseBridge | None:
        return cls.create_adapter("redis", **config)

    @classmethod
    def create_qdrant_adapter(cls, **config: Any) -> SessionDatabaseBridge | None:
        return cls.create_adapter("qdrant", **config)

    @classmethod
    def create_elasticsearch_adapter(cls, **config: Any) -> SessionDatabaseBridge | None:
        return cls.create_adapter("elasticsearch", **config)

    @classmethod
    def create_bigquery_adapter(cls, **config: Any) -> SessionDatabaseBridge | None:
        return cls.create_adapter("bigquery", **config)

    @classmethod
    def create_gcs_adapter(cls, **config: Any) -> SessionDatabaseBridge | None:
        return cls.create_adapter("gcs", **config)


def _compare(actual: Any, operator: str, expected: Any) -> bool:
    if operator == "==":
        return bool(actual == expected)
    if operator == "!=":
        return bool(actual != expected)
    try:
        if isinstance(actual, str) and isinstance(expected, datetime):
            expected = expected.isoformat()
        if operator == ">=":
            return bool(actual >= expected)
        if operator == "<=":
            return bool(actual <= expected)
        if operator == ">":
            return bool(actual > expected)
        if operator == "<":
            return bool(actual < expected)
    except TypeError:
        return False
    return True  # an operator the mock does not know filters nothing, as in v1


class MockSessionAdapter:
    """An in-memory document index: case-insensitive substring search plus filters.

    Filters are ``{"conditions": [{"field", "operator", "value"}]}``; a condition on a
    field a document lacks does not exclude it (v1's rule). Besides v1's ``==`` and
    ``!=`` it understands ``>=``, ``<=``, ``>`` and ``<`` (ISO timestamps compare as
    text), which v1's analytics relied on but its mock ignored.
    """

    def __init__(self, **kwargs: Any) -> None:
        self.documents: list[dict[str, Any]] = []

    def add_documents(self, documents: list[dict[str, Any]]) -> list[str]:
        ids = []
        for doc in documents:
            doc_id = doc.get("key") or doc.get("id") or f"doc_{len(self.documents)}"
            # A document added again under its id replaces the old one.
            self.documents = [d for d in self.documents if d["id"] != doc_id]
            self.documents.append(
                {
                    "id": doc_id,
                    "text": doc.get("text", ""),
                    "metadata": dict(doc.get("metadata", {})),
                    "score": 1.0,
                }
            )
            ids.append(doc_id)
        logger.debug("mock session index: %d documents added", len(documents))
        return ids

    def _matches(self, doc: dict[str, Any], filters: dict[str, Any] | None) -> bool:
        metadata = doc["metadata"]
        for condition in (filters or {}).get("conditions", []):
            name = condition.get("field")
            if name in metadata and not _compare(
                metadata[name], condition.get("operator", "=="), condition.get("value")
            ):
                return False
        return True

    def query(
        self, query: str, filters: dict[str, Any] | None = None, k: int = 10
    ) -> list[dict[str, Any]]:
        needle = (query or "").lower()
        results = []
        for doc in self.documents:
            if needle in str(doc["text"]).lower() and self._matches(doc, filters):
                results.append(
                    {
                        "id": doc["id"],
                        "text": doc["text"],
                        "metadata": doc["metadata"],
                        "score": 0.9,
                    }
                )
                if len(results) >= k:
                    break
        return results

    def delete(self, ids: list[str]) -> int:
        before = len(self.documents)
        wanted = set(ids)
        self.documents = [d for d in self.documents if d["id"] not in wanted]
        return before - len(self.documents)
