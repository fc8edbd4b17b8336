"""OpenTelemetry spans and metrics for every lifecycle call and model call.

Only ``opentelemetry-api`` is used, imported when a manager is built (not at
``import threadline``). Tracer and meter providers are injected, else the global ones;
with neither configured every call here is a cheap no-op.

Attribute names are private constants: the semantic-conventions package marks its
``gen_ai`` constants deprecated and warns on use.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .errors import ThreadlineError

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import Span, TracerProvider

    from ._records import SessionRecord
    from .providers.base import Provider, TurnRequest, TurnResult

logger = logging.getLogger("threadline")

# GenAI semantic conventions (https://opentelemetry.io/docs/specs/semconv/gen-ai/).
GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"
GEN_AI_CONVERSATION_ID = "gen_ai.conversation.id"
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_RESPONSE_ID = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens"
ERROR_TYPE = "error.type"
# threadline's own.
THREADLINE_SESSION_MODE = "threadline.session.mode"
THREADLINE_STORE = "threadline.store"
THREADLINE_OPERATION = "threadline.operation"

INSTRUMENTATION_NAME = "threadline"


def error_type(exc: BaseException) -> str:
    """``error.type`` for an exception: our stable name, else the class's qualified name."""
    if isinstance(exc, ThreadlineError):
        return exc.error_type
    return f"{type(exc).__module__}.{type(exc).__qualname__}"


def session_attributes(record: SessionRecord) -> dict[str, Any]:
    return {
        GEN_AI_CONVERSATION_ID: record.id,
        GEN_AI_PROVIDER_NAME: record.provider,
        GEN_AI_REQUEST_MODEL: record.model,
        THREADLINE_SESSION_MODE: record.mode,
    }


class _Hooks:
    """`TurnHooks` bound to one turn's span."""

    def __init__(self, telemetry: Telemetry, span: Span, provider: Provider, session_id: str):
        self._telemetry = telemetry
        self._span = span
        self._provider = provider
        self._session_id = session_id

    @contextmanager
    def server_call(self, operation: str, **attributes: Any) -> Iterator[Span]:
        from opentelemetry.trace import SpanKind

        attrs = {
            GEN_AI_OPERATION_NAME: operation,
            GEN_AI_PROVIDER_NAME: self._provider.system_name,
            GEN_AI_CONVERSATION_ID: self._session_id,
            **attributes,
        }
        with self._telemetry.span(operation, kind=SpanKind.CLIENT, attributes=attrs) as span:
            yield span

    def event(self, name: str, **attributes: Any) -> None:
        self._span.add_event(name, attributes)
        logger.debug("%s session=%s %s", name, self._session_id, attributes)


class Telemetry:
    def __init__(
        self,
        *,
        store_kind: str,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        from opentelemetry import trace

        self.store_kind = store_kind
        self.tracer = trace.get_tracer(INSTRUMENTATION_NAME, tracer_provider=tracer_provider)
        self.meter_provider = meter_provider

    @contextmanager
    def span(
        self,
        name: str,
        *,
        kind: Any = None,
        attributes: dict[str, Any] | None = None,
        parent: Span | None = None,
        attach: bool = True,
    ) -> Iterator[Span]:
        """A span that records ``error.type`` and ERROR status when its body raises.

        ``attach=False`` keeps it out of the current context: for spans that live
        across ``yield`` in a generator, where attaching would leak into the caller.
        """
        from opentelemetry import trace
        from opentelemetry.trace import SpanKind, Status, StatusCode

        context = trace.set_span_in_context(parent) if parent is not None else None
        span = self.tracer.start_span(
            name, context=context, kind=kind or SpanKind.INTERNAL, attributes=attributes
        )
        try:
            if attach:
                with trace.use_span(
                    span, end_on_exit=False, record_exception=False, set_status_on_exception=False
                ):
                    yield span
            else:
                yield span
        except GeneratorExit:
            # The caller stopped iterating a stream: not a failure of ours.
            span.add_event("threadline.abandoned")
            raise
        except BaseException as exc:
            if span.is_recording():
                span.set_attribute(ERROR_TYPE, error_type(exc))
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise
        finally:
            span.end()

    @contextmanager
    def operation(
        self, name: str, record: SessionRecord | None = None, *, attach: bool = True
    ) -> Iterator[Span]:
        """The INTERNAL span ``threadline.<name>`` of one public lifecycle call."""
        attributes: dict[str, Any] = {THREADLINE_STORE: self.store_kind}
        if record is not None:
            attributes.update(session_attributes(record))
        started = time.perf_counter()
        try:
            with self.span(f"threadline.{name}", attributes=attributes, attach=attach) as span:
                yield span
        finally:
            logger.debug(
                "threadline.%s session=%s duration_ms=%.2f",
                name,
                record.id if record is not None else "-",
                (time.perf_counter() - started) * 1000,
            )

    @staticmethod
    def annotate(span: Span, record: SessionRecord) -> None:
        """Add the session attributes once the operation knows its session."""
        if span.is_recording():
            span.set_attributes(session_attributes(record))

    @contextmanager
    def store_step(self, span: Span, name: str) -> Iterator[None]:
        """Record a store call as an event with its duration on the operation span."""
        started = time.perf_counter()
        yield
        if span.is_recording():
            span.add_event(
                f"threadline.store.{name}",
                {"duration_ms": round((time.perf_counter() - started) * 1000, 3)},
            )

    @contextmanager
    def model_call(
        self, provider: Provider, request: TurnRequest, *, parent: Span | None = None
    ) -> Iterator[ModelCall]:
        """The CLIENT span of one model call, covering all its retries."""
        from opentelemetry.trace import SpanKind

        attrs = {
            GEN_AI_OPERATION_NAME: "chat",
            GEN_AI_PROVIDER_NAME: provider.system_name,
            GEN_AI_REQUEST_MODEL: request.model,
            GEN_AI_CONVERSATION_ID: request.session_id,
        }
        with self.span(
            f"chat {request.model}",
            kind=SpanKind.CLIENT,
            attributes=attrs,
            parent=parent,
            attach=parent is None,
        ) as span:
            request.hooks = _Hooks(self, span, provider, request.session_id)
            yield ModelCall(span)


class ModelCall:
    """Handle on a model call's span: retries and the result are recorded through it."""

    def __init__(self, span: Span) -> None:
        self.span = span

    def active(self) -> Any:
        """Make the span current for one step of a stream (never across a yield)."""
        from opentelemetry import trace

        return trace.use_span(self.span, end_on_exit=False)

    def retry(self, attempt: int, exc: BaseException, delay: float) -> None:
        if self.span.is_recording():
            self.span.add_event(
                "threadline.retry",
                {"attempt": attempt, ERROR_TYPE: error_type(exc), "delay_s": round(delay, 3)},
            )

    def finish(self, result: TurnResult) -> None:
        span = self.span
        if not span.is_recording():
            return
        attrs: dict[str, Any] = {
            GEN_AI_USAGE_INPUT_TOKENS: result.usage.input_tokens,
            GEN_AI_USAGE_OUTPUT_TOKENS: result.usage.output_tokens,
            GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: result.usage.cached_input_tokens,
        }
        if result.response_id:
            attrs[GEN_AI_RESPONSE_ID] = result.response_id
        if result.response_model:
            attrs[GEN_AI_RESPONSE_MODEL] = result.response_model
        if result.finish_reasons:
            attrs[GEN_AI_RESPONSE_FINISH_REASONS] = list(result.finish_reasons)
        span.set_attributes(attrs)
