# GENERATED from src/threadline/_manager_async.py by scripts/gen_sync.py: do not edit.
# Edit the async source and run `make generate`.
"""`SessionManager`: opens the store, knows the providers, creates and finds sessions.

The blocking `SessionManager` is generated from this file (docs/architecture.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal, Self

from ._concurrency import SYNC_FACE, face_of
from ._ids import new_id, validate_id
from ._records import Mode, SessionRecord
from ._retry import RetryPolicy
from ._runtime_sync import Runtime
from ._session_sync import ConversationSession
from ._telemetry import Telemetry
from ._transfer import read_document
from ._validate import (
    as_tools,
    check_metadata,
    check_providers,
    check_text,
    check_ttl,
    expiry,
    mode_for,
    user_id,
)
from .errors import ConfigurationError, SessionNotFoundError, StoreError, ValidationError
from .messages import SessionInfo, SessionStatus, Tool, utcnow
from .providers import Provider
from .stores import Store, open_store
from .stores.base import Page, SessionQuery, decode_cursor

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider

logger = logging.getLogger("threadline")

__all__ = ["SessionManager"]


def _store(store: str | Store | None) -> Store:
    if store is None or isinstance(store, str):
        return open_store(store)
    if not isinstance(store, Store) or face_of(store.commit) != SYNC_FACE:
        raise ConfigurationError(
            f"SessionManager needs a store URL or an async store such as "
            f"SQLiteStore, not {type(store).__name__}"
        )
    return store


class SessionManager:
    """Creates, finds, lists and cleans up sessions. Use it as a context manager, or
    call ``close()`` when done.

    ``store``: a URL (``memory://``, ``sqlite:///file.db``) or a store of this face
    (`SQLiteStore`...); default ``$THREADLINE_STORE``, else a SQLite file in the
    user data directory. ``providers``: provider objects with explicit clients or
    options; the built-in ones (``echo`` always, the others when their SDK is
    installed) are built on first use. ``retry``: how model calls are retried.
    ``default_ttl``: expiry for sessions created without ``ttl=``.
    ``tracer_provider``/``meter_provider``: OpenTelemetry providers (default: the
    global ones).
    """

    def __init__(
        self,
        store: str | Store | None = None,
        *,
        providers: Iterable[Provider] = (),
        retry: RetryPolicy | None = None,
        default_ttl: timedelta | None = None,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        self.default_ttl = check_ttl(default_ttl, "default_ttl")
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise TypeError(f"retry must be a tl.RetryPolicy, not {type(retry).__name__}")
        given = check_providers(providers)
        opened = _store(store)
        self._runtime = Runtime(
            opened,
            given,
            retry or RetryPolicy(),
            Telemetry(
                store_kind=opened.kind,
                tracer_provider=tracer_provider,
                meter_provider=meter_provider,
            ),
        )

    @property
    def store(self) -> Store:
        """The store sessions are mirrored in."""
        return self._runtime.store

    @property
    def retry(self) -> RetryPolicy:
        return self._runtime.retry

    @property
    def closed(self) -> bool:
        return self._runtime.closed

    def provider(self, name: str) -> Provider:
        """The provider registered (or built in) under ``name``."""
        return self._runtime.provider(name)

    # -- sessions ------------------------------------------------------------------

    def create(
        self,
        provider: str = "echo",
        model: str | None = None,
        *,
        user: str | None = None,
        system: str | None = None,
        metadata: dict[str, Any] | None = None,
        ttl: timedelta | None = None,
        mode: Mode | None = None,
        tools: Sequence[Tool | dict[str, Any]] | None = None,
        session_id: str | None = None,
    ) -> ConversationSession:
        """Start a session and store it (durably, before its first turn).

        ``provider``: ``"echo"``, ``"openai"``, ``"anthropic"``, ``"google"`` or the
        name of a provider given to the manager; ``model``: its default if None.
        ``user``: the owner; only calls with that ``user=`` see the session.
        ``system``: the system prompt. ``metadata``: JSON you keep with it (64 KiB at
        most). ``ttl``: expiry after the last write (slides). ``mode``: ``"native"``
        (default where the provider keeps server-side state) or ``"local"``.
        ``tools``: `Tool`s (or dicts) offered on every turn. ``session_id``: your own
        id instead of a generated one.
        """
        runtime = self._runtime
        with runtime.telemetry.operation("create") as span:
            runtime.check_open()
            check_text(provider, "provider")
            impl = runtime.provider(provider)
            mode = mode_for(impl, mode)
            ttl = check_ttl(ttl) if ttl is not None else self.default_ttl
            check_text(model, "model", optional=True)
            check_text(system, "system", optional=True)
            now = utcnow()
            ttl_seconds = ttl.total_seconds() if ttl is not None else None
            record = SessionRecord(
                id=validate_id(session_id, "session id")
                if session_id is not None
                else new_id("ses"),
                user=user_id(user),
                provider=provider,
                model=model or impl.default_model,
                system=system,
                mode=mode,
                created_at=now,
                updated_at=now,
                expires_at=expiry(now, ttl_seconds),
                ttl_seconds=ttl_seconds,
                metadata=check_metadata(metadata),
                tools=as_tools(tools) or [],
            )
            runtime.telemetry.annotate(span, record)
            with runtime.telemetry.store_step(span, "create"):
                runtime.store.create(record)
            return ConversationSession(runtime, record, [])

    def get(self, session_id: str, *, user: str | None = None) -> ConversationSession:
        """Open a stored session. With ``user=``, only that user's sessions are found.

        Only the session's record is read: its messages are read when first needed
        (``session.messages``, a local-mode turn, a re-seed), so resuming a long
        conversation costs the same as resuming a short one.
        """
        runtime = self._runtime
        with runtime.telemetry.operation("get") as span:
            runtime.check_open()
            validate_id(session_id, "session id")
            span.set_attribute("gen_ai.conversation.id", session_id)
            with runtime.telemetry.store_step(span, "get"):
                record = runtime.store.get(session_id, user=user_id(user), now=utcnow())
            runtime.telemetry.annotate(span, record)
            return ConversationSession(runtime, record, packed=True)

    def list(
        self,
        *,
        user: str | None = None,
        status: SessionStatus | str | None = None,
        provider: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        order_by: Literal["created", "updated"] = "created",
    ) -> Page[SessionInfo]:
        """Sessions newest first (by creation, or by last write with
        ``order_by="updated"``). Expired sessions are left out unless
        ``status="expired"``. The result is a list; its ``next_cursor`` fetches the
        next page."""
        runtime = self._runtime
        with runtime.telemetry.operation("list") as span:
            runtime.check_open()
            if not isinstance(limit, int) or isinstance(limit, bool):
                raise TypeError(f"limit must be an int, not {type(limit).__name__}")
            if not 1 <= limit <= 1000:
                raise ValidationError("limit must be between 1 and 1000")
            check_text(provider, "provider", optional=True)
            if cursor is not None:
                decode_cursor(cursor)
            if order_by not in ("created", "updated"):
                raise ValidationError("order_by must be 'created' or 'updated'")
            if status is not None and not isinstance(status, str):
                raise TypeError(f"status must be a str, not {type(status).__name__}")
            try:
                status = SessionStatus(status) if status is not None else None
            except ValueError:
                raise ValidationError(f"unknown status {status!r}") from None
            now = utcnow()
            query = SessionQuery(
                now=now,
                user=user_id(user),
                status=status,
                provider=provider,
                order_by=order_by,
                limit=limit,
                cursor=cursor,
            )
            with runtime.telemetry.store_step(span, "list"):
                records = runtime.store.list_sessions(query)
            page = Page(r.info(now) for r in records)
            page.next_cursor = records.next_cursor
            return page

    def delete(self, session_id: str, *, user: str | None = None) -> None:
        """Delete a session by id (see `ConversationSession.delete`)."""
        runtime = self._runtime
        # One `threadline.delete` span, not a `get` span followed by a `delete` span.
        with runtime.telemetry.operation("delete") as span:
            runtime.check_open()
            validate_id(session_id, "session id")
            owner = user_id(user)
            try:
                with runtime.telemetry.store_step(span, "get"):
                    record = runtime.store.get(session_id, user=owner, now=utcnow())
            except StoreError as exc:
                if exc.session_id != session_id:
                    raise
                # A damaged record still goes (its server-side state, unreadable, is
                # left to expire on the provider's side); ownership is still checked
                # by the store's delete.
                logger.warning("deleting session %s, whose record is damaged", session_id)
                if not runtime.store.delete(session_id, user=owner):
                    raise SessionNotFoundError(session_id) from None
                return
            runtime.telemetry.annotate(span, record)
            runtime.delete_record(record)

    def cleanup_expired(self, *, progress: Callable[[int, int], None] | None = None) -> int:
        """Delete every expired session (and its server-side state); return how many.

        Sessions go in batches of 500, one store transaction each; then their
        server-side state is deleted, best effort. ``progress(done, found)``, if
        given, is called after each batch and after each server-side delete: ``done``
        sessions are fully handled out of ``found`` so far (``found`` grows by batch).
        """
        runtime = self._runtime
        with runtime.telemetry.operation("cleanup_expired") as span:
            runtime.check_open()
            removed = found = done = 0
            while batch := runtime.store.expired(utcnow()):
                with runtime.telemetry.store_step(span, "delete"):
                    removed += runtime.store.delete_many([sid for sid, _ in batch])
                native = [
                    (sid, r.native) for sid, r in batch if r is not None and r.native is not None
                ]
                found += len(batch)
                done += len(batch) - len(native)
                if progress is not None:
                    progress(done, found)
                for session_id, state in native:
                    runtime.discard_native(state, session_id)
                    done += 1
                    if progress is not None:
                        progress(done, found)
            span.set_attribute("threadline.sessions.removed", removed)
            return removed

    def import_session(
        self, data: dict[str, Any], *, user: str | None = None, keep_id: bool = False
    ) -> ConversationSession:
        """Create a session from an ``export()`` document.

        It gets a new id unless ``keep_id=True``; ``user=`` sets its owner (default:
        the exported owner). Server-side state is re-seeded on the first turn.
        """
        runtime = self._runtime
        with runtime.telemetry.operation("import") as span:
            runtime.check_open()
            exported, history = read_document(data)
            runtime.provider(exported.provider)  # fail early on an unknown provider
            now = utcnow()
            record = exported.model_copy(
                update={
                    "id": validate_id(exported.id, "session id") if keep_id else new_id("ses"),
                    "user": user_id(user if user is not None else exported.user),
                    "created_at": now,
                    "updated_at": now,
                    "expires_at": expiry(now, exported.ttl_seconds),
                    "message_count": len(history),
                }
            )
            runtime.telemetry.annotate(span, record)
            with runtime.telemetry.store_step(span, "create"):
                runtime.store.create(record, history)
            return ConversationSession(runtime, record, history)

    # -- lifetime ------------------------------------------------------------------

    def close(self) -> None:
        """Close open streams, the store and the clients threadline built. Safe to call
        twice; the manager and its sessions refuse work afterwards
        (`ManagerClosedError`)."""
        self._runtime.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._runtime.closed else "open"
        return f"<{type(self).__name__} store={self._runtime.store.kind} {state}>"
