"""`AsyncSessionManager`: opens the store, knows the providers, creates and finds sessions."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal, Self, TypedDict

from ._ids import new_id, validate_id
from ._records import Mode, NativeState, SessionRecord
from ._retry import RetryPolicy
from ._session import AsyncConversationSession, ForkOptions, as_tools
from ._telemetry import Telemetry
from ._transfer import read_document
from .errors import ConcurrencyError, ConfigurationError, ValidationError
from .messages import (
    Message,
    SessionInfo,
    SessionStatus,
    Tool,
    Usage,
    utcnow,
)
from .providers import builtin_provider
from .providers.base import Provider
from .providers.echo import EchoProvider
from .stores import open_store
from .stores.base import Page, SessionQuery, Store

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import Span, TracerProvider

logger = logging.getLogger("threadline")

_MAX_METADATA_BYTES = 64 * 1024


class CreateOptions(TypedDict, total=False):
    user: str | None
    system: str | None
    metadata: dict[str, Any] | None
    ttl: timedelta | None
    mode: Mode | None
    tools: Sequence[Tool | dict[str, Any]] | None
    session_id: str | None


class ListOptions(TypedDict, total=False):
    user: str | None
    status: SessionStatus | str | None
    provider: str | None
    limit: int
    cursor: str | None
    order_by: Literal["created", "updated"]


def _check_metadata(metadata: dict[str, Any] | None) -> dict[str, Any]:
    import json

    metadata = dict(metadata or {})
    try:
        size = len(json.dumps(metadata))
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"metadata must be JSON-serialisable: {exc}") from exc
    if size > _MAX_METADATA_BYTES:
        raise ValidationError(f"metadata is {size} bytes; the limit is {_MAX_METADATA_BYTES}")
    return metadata


def _mode_for(provider: Provider, mode: str | None) -> Mode:
    """The session mode: as asked, checked against what the provider can do; by
    default native where the provider keeps server-side state, else local."""
    if mode is None:
        return "native" if provider.capabilities.native_state else "local"
    if mode not in ("native", "local"):
        raise ValidationError(f"mode must be 'native' or 'local', not {mode!r}")
    if mode == "native" and not provider.capabilities.native_state:
        raise ConfigurationError(f"provider {provider.name!r} keeps no server-side state")
    return "native" if mode == "native" else "local"


def _user(user: str | None) -> str | None:
    return None if user is None else validate_id(user, "user")


class AsyncSessionManager:
    """Creates, finds, lists and cleans up sessions. Use as an async context manager.

    ``store``: a URL (``memory://``, ``sqlite:///file.db``) or a `Store`; default
    ``$THREADLINE_STORE``, else a SQLite file in the user data directory.
    ``providers``: provider objects with explicit clients or options; the built-in
    ones (``echo`` always, the others when their SDK is installed) are built on
    first use. ``default_ttl``: expiry for sessions created without ``ttl=``.
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
        self.store: Store = store if isinstance(store, Store) else open_store(store)
        self.retry = retry or RetryPolicy()
        self.default_ttl = default_ttl
        self._providers: dict[str, Provider] = {"echo": EchoProvider()}
        self._providers.update((p.name, p) for p in providers)
        self._built: list[Provider] = []
        self.telemetry = Telemetry(
            store_kind=self.store.kind,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
        )

    def provider(self, name: str) -> Provider:
        """The provider registered (or built in) under ``name``."""
        try:
            return self._providers[name]
        except KeyError:
            pass
        provider = builtin_provider(name)
        self._providers[name] = provider
        self._built.append(provider)
        return provider

    # -- sessions ------------------------------------------------------------------

    def _session(self, record: SessionRecord, history: list[Message]) -> AsyncConversationSession:
        return AsyncConversationSession(self, record, history)

    async def create(
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
    ) -> AsyncConversationSession:
        """Start a session. ``mode`` defaults to ``native`` where the provider keeps
        server-side state, else ``local``."""
        with self.telemetry.operation("create") as span:
            impl = self.provider(provider)
            mode = _mode_for(impl, mode)
            ttl = ttl if ttl is not None else self.default_ttl
            if ttl is not None and ttl.total_seconds() <= 0:
                raise ValidationError("ttl must be positive")
            now = utcnow()
            record = SessionRecord(
                id=validate_id(session_id, "session id")
                if session_id is not None
                else new_id("ses"),
                user=_user(user),
                provider=provider,
                model=model or impl.default_model,
                system=system,
                mode=mode,
                created_at=now,
                updated_at=now,
                expires_at=now + ttl if ttl is not None else None,
                ttl_seconds=ttl.total_seconds() if ttl is not None else None,
                metadata=_check_metadata(metadata),
                tools=as_tools(tools) or [],
            )
            self.telemetry.annotate(span, record)
            with self.telemetry.store_step(span, "create"):
                await self.store.create(record)
            return self._session(record, [])

    async def get(self, session_id: str, *, user: str | None = None) -> AsyncConversationSession:
        """Load a session. With ``user=``, only that user's sessions are found."""
        with self.telemetry.operation("get") as span:
            validate_id(session_id, "session id")
            span.set_attribute("gen_ai.conversation.id", session_id)
            with self.telemetry.store_step(span, "get"):
                record = await self.store.get(session_id, user=_user(user), now=utcnow())
                # Only the messages this version holds (a turn may commit in between).
                history = await self.store.read_messages(session_id, limit=record.message_count)
            self.telemetry.annotate(span, record)
            return self._session(record, history)

    async def list(
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
        with self.telemetry.operation("list") as span:
            if not 1 <= limit <= 1000:
                raise ValidationError("limit must be between 1 and 1000")
            if order_by not in ("created", "updated"):
                raise ValidationError("order_by must be 'created' or 'updated'")
            try:
                status = SessionStatus(status) if status is not None else None
            except ValueError:
                raise ValidationError(f"unknown status {status!r}") from None
            now = utcnow()
            query = SessionQuery(
                now=now,
                user=_user(user),
                status=status,
                provider=provider,
                order_by=order_by,
                limit=limit,
                cursor=cursor,
            )
            with self.telemetry.store_step(span, "list"):
                records = await self.store.list_sessions(query)
            page = Page(r.info(now) for r in records)
            page.next_cursor = records.next_cursor
            return page

    async def delete(self, session_id: str, *, user: str | None = None) -> None:
        """Delete a session by id (see `AsyncConversationSession.delete`)."""
        # One `threadline.delete` span, not a `get` span followed by a `delete` span.
        with self.telemetry.operation("delete") as span:
            validate_id(session_id, "session id")
            with self.telemetry.store_step(span, "get"):
                record = await self.store.get(session_id, user=_user(user), now=utcnow())
            self.telemetry.annotate(span, record)
            await self._delete_record(record)

    async def _delete_record(self, record: SessionRecord) -> bool:
        # Local data first: a slow or failing provider must never keep it alive.
        with self.telemetry.store_step(None, "delete"):
            removed = await self.store.delete(record.id, user=None)
        if record.native is not None:
            await self.discard_native(record.native, record.id)
        return removed

    async def discard_native(self, native: NativeState, session_id: str) -> None:
        """Delete server-side state the mirror no longer uses, best effort.

        Server-side state is a cache: failing to delete it must not keep the user's data
        alive locally, nor fail the operation that dropped it. It expires on the
        provider's side.
        """
        try:
            provider = self.provider(native.provider)
            if provider.capabilities.delete_native:
                with self.telemetry.server_call(provider, "delete_conversation", session_id):
                    await provider.delete_native(native)
        except Exception as exc:
            logger.warning(
                "could not delete server-side state of session %s (%s): %s",
                session_id,
                native.provider,
                type(exc).__name__,
            )

    async def forget_native(self, session_id: str, native: NativeState | None, span: Span) -> None:
        """Stop the session using ``native`` if its stored record still points at it.

        Called when a turn reached the server but lost the commit race: that server
        copy holds a turn the mirror does not, so the winner must not continue it. The
        next turn re-seeds from the mirror instead.
        """
        if native is None or native.handle is None:
            return
        for _ in range(3):
            latest = await self.store.get(session_id, user=None, now=utcnow())
            if latest.native is None or latest.native.handle != native.handle:
                return
            try:
                await self.store.commit(
                    latest.model_copy(update={"native": None, "version": latest.version + 1}),
                    expected_version=latest.version,
                )
            except ConcurrencyError:
                continue
            span.add_event("threadline.native.invalidated", {"reason": "orphaned_turn"})
            await self.discard_native(native, session_id)
            return

    async def cleanup_expired(self) -> int:
        """Delete every expired session (and its server-side state); return how many."""
        with self.telemetry.operation("cleanup_expired") as span:
            removed = 0
            while batch := await self.store.expired(utcnow()):
                for session_id, record in batch:
                    if record is None:
                        removed += await self.store.delete(session_id, user=None)
                    else:
                        removed += await self._delete_record(record)
            span.set_attribute("threadline.sessions.removed", removed)
            return removed

    async def _fork(
        self, source: AsyncConversationSession, options: ForkOptions
    ) -> AsyncConversationSession:
        with self.telemetry.operation("fork", source._record) as span:
            parent = source._record
            history = source._history
            checkpoints = parent.checkpoints
            if "at" in options:
                cp = source._find_checkpoint(options["at"])
                history = history[: cp.message_count]
                checkpoints = [c for c in checkpoints if c.message_count <= cp.message_count]
            provider = options.get("provider", parent.provider)
            impl = self.provider(provider)
            if "model" in options:
                model = options["model"]
            elif provider == parent.provider:
                model = parent.model
            else:
                model = impl.default_model
            mode = _mode_for(
                impl, options.get("mode") or (parent.mode if provider == parent.provider else None)
            )
            now = utcnow()
            metadata = {**parent.metadata, **options.get("metadata", {})}
            record = parent.model_copy(
                update={
                    "id": new_id("ses"),
                    "user": _user(options.get("user", parent.user)),
                    "provider": provider,
                    "model": model,
                    "mode": mode,
                    "status": SessionStatus.ACTIVE,
                    "status_reason": None,
                    "native": None,  # the child seeds its own server-side state
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                    "expires_at": (
                        now + timedelta(seconds=parent.ttl_seconds)
                        if parent.ttl_seconds is not None
                        else None
                    ),
                    "metadata": _check_metadata(metadata),
                    "parent_id": parent.id,
                    "message_count": len(history),
                    "usage": Usage(),
                    "checkpoints": checkpoints,
                }
            )
            span.set_attribute("threadline.fork.child_id", record.id)
            with self.telemetry.store_step(span, "create"):
                await self.store.create(record, history)
            return self._session(record, list(history))

    async def import_session(
        self, data: dict[str, Any], *, user: str | None = None, keep_id: bool = False
    ) -> AsyncConversationSession:
        """Create a session from an ``export()`` document.

        It gets a new id unless ``keep_id=True``; ``user=`` sets its owner (default:
        the exported owner). Server-side state is re-seeded on the first turn.
        """
        with self.telemetry.operation("import") as span:
            exported, history = read_document(data)
            self.provider(exported.provider)  # fail early on an unknown provider
            now = utcnow()
            ttl = exported.ttl_seconds
            record = exported.model_copy(
                update={
                    "id": validate_id(exported.id, "session id") if keep_id else new_id("ses"),
                    "user": _user(user if user is not None else exported.user),
                    "created_at": now,
                    "updated_at": now,
                    "expires_at": now + timedelta(seconds=ttl) if ttl is not None else None,
                    "message_count": len(history),
                }
            )
            self.telemetry.annotate(span, record)
            with self.telemetry.store_step(span, "create"):
                await self.store.create(record, history)
            return self._session(record, history)

    # -- lifetime ------------------------------------------------------------------

    async def close(self) -> None:
        """Close the store and the clients threadline built. Safe to call twice."""
        for provider in self._built:
            await provider.aclose()
        self._built.clear()
        await self.store.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
