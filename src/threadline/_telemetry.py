"""OpenTelemetry spans and metrics for every lifecycle call and model call, and debug logs.

Only ``opentelemetry-api`` is used, imported when a manager is built (not at
``import threadline``, which must stay fast). Tracer and meter providers are injected,
else the global ones; with neither configured every call here is a cheap no-op.

Attribute names are private constants: the semantic-conventions package marks its
``gen_ai`` constants deprecated and warns on use.

What is emitted (docs/observability.md has the user-facing version):

- ``threadline.<operation>`` INTERNAL spans, one per public lifecycle call, with store
  work as ``threadline.store.*`` events carrying ``duration_ms``;
- ``chat {model}`` CLIENT spans, one per model call and covering all its retries (one
  ``threadline.retry`` event each); server-side state calls get their own CLIENT spans;
- ``gen_ai.client.operation.duration`` and ``gen_ai.client.token.usage`` histograms per
  model call, with the conventions' low-cardinality attributes only (no session ids);
- message content only when ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` asks
  for it (see `_genai_content`); API keys never.

Debug log lines for the same calls are written through `_logs`, which also holds the
hook provider adapters call per HTTP request (`_logs.log_request`).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from . import _genai_content as content
from ._logs import configure_logging, log_event, session_var
from .errors import ThreadlineError

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import Span, TracerProvider

    from ._records import SessionRecord
    from .providers._provider import Provider
    from .providers.base import TurnRequest, TurnResult

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
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS = "gen_ai.usage.cache_creation.input_tokens"
GEN_AI_TOKEN_TYPE = "gen_ai.token.type"
ERROR_TYPE = "error.type"
# threadline's own.
THREADLINE_SESSION_MODE = "threadline.session.mode"
THREADLINE_STORE = "threadline.store"

OPERATION_DURATION = "gen_ai.client.operation.duration"
TOKEN_USAGE = "gen_ai.client.token.usage"
# The conventions' advice, passed explicitly: SDK default buckets suit milliseconds.
DURATION_BUCKETS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
TOKEN_BUCKETS = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip

INSTRUMENTATION_NAME = "threadline"


def error_type(exc: BaseException) -> str:
    """``error.type`` for an exception: our stable name, else the class's qualified name."""
    if isinstance(exc, ThreadlineError):
        return exc.error_type
    return f"{type(exc).__module__}.{type(exc).__qualname__}"


# ``gen_ai.provider.name`` where the conventions' name differs from threadline's: a
# lifecycle span must not build a provider (and its client) just to ask.
_CONVENTION_NAMES = {"google": "gcp.gemini"}


def session_attributes(record: SessionRecord) -> dict[str, Any]:
    return {
        GEN_AI_CONVERSATION_ID: record.id,
        GEN_AI_PROVIDER_NAME: _CONVENTION_NAMES.get(record.provider, record.provider),
        GEN_AI_REQUEST_MODEL: record.model,
        THREADLINE_SESSION_MODE: record.mode,
    }


class _NoSpan:
    """A span that records nothing, so no-op tracing needs no OpenTelemetry import."""

    def is_recording(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        return _ignore


def _ignore(*args: Any, **kwargs: Any) -> None:
    return None


NO_SPAN: Any = _NoSpan()
_UNKNOWN = object()


class _Hooks:
    """`TurnHooks` bound to one turn's span."""

    def __init__(self, telemetry: Telemetry, span: Span, provider: Provider, session_id: str):
        self._telemetry = telemetry
        self._span = span
        self._provider = provider
        self._session_id = session_id

    @contextmanager
    def server_call(self, operation: str, **attributes: Any) -> Iterator[Span]:
        with self._telemetry.server_call(
            self._provider, operation, self._session_id, **attributes
        ) as span:
            yield span

    def event(self, name: str, **attributes: Any) -> None:
        self._span.add_event(name, attributes)
        log_event(name, session=self._session_id, **attributes)


class Telemetry:
    """One manager's tracer, meter, content-capture setting and log configuration."""

    def __init__(
        self,
        *,
        store_kind: str,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        self.store_kind = store_kind
        # OpenTelemetry is imported only when it can be in use: a provider was passed,
        # or the application imported it (an SDK set up globally). Otherwise every span
        # is a no-op and every metric unread, so none is built, and a manager starts
        # without importing it (~10 ms). Checked per call: an SDK may be set up later.
        self._tracer_provider = tracer_provider
        self._meter_provider = meter_provider
        self._tracer: Any = None
        self._instruments: tuple[Any, Any] | None = None
        if os.environ.get("OTEL_PYTHON_TRACER_PROVIDER"):
            from opentelemetry import trace

            trace.get_tracer_provider()  # loads the provider the variable names
        # Read once per manager: a setting that changed mid-conversation would make
        # half a trace hold content.
        self.capture = content.ContentCapture.from_env()
        configure_logging()

    @property
    def tracing(self) -> bool:
        """Spans are recorded somewhere: a provider was given, or the global one is set."""
        if self._tracer_provider is not None:
            return True
        trace = sys.modules.get("opentelemetry.trace")
        if trace is None:
            return False
        # The global provider, without `get_tracer_provider()`'s environment lookup
        # (three per turn); the public call if the private name ever goes away.
        provider = getattr(trace, "_TRACER_PROVIDER", _UNKNOWN)
        if provider is _UNKNOWN:
            provider = trace.get_tracer_provider()
        return provider is not None and not isinstance(provider, trace.ProxyTracerProvider)

    @property
    def tracer(self) -> Any:
        if self._tracer is None:
            from opentelemetry import trace

            from . import __version__

            self._tracer = trace.get_tracer(
                INSTRUMENTATION_NAME, __version__, tracer_provider=self._tracer_provider
            )
        return self._tracer

    def _metrics(self) -> tuple[Any, Any] | None:
        """The duration and token histograms, or None while OpenTelemetry is not in use."""
        if self._instruments is None:
            if self._meter_provider is None and "opentelemetry.metrics" not in sys.modules:
                return None
            from opentelemetry import metrics

            from . import __version__

            meter = metrics.get_meter(
                INSTRUMENTATION_NAME, __version__, meter_provider=self._meter_provider
            )
            self._instruments = (
                meter.create_histogram(
                    OPERATION_DURATION,
                    unit="s",
                    description="GenAI operation duration.",
                    explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
                ),
                meter.create_histogram(
                    TOKEN_USAGE,
                    unit="{token}",
                    description="Number of input and output tokens used.",
                    explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
                ),
            )
        return self._instruments

    @contextmanager
    def span(
        self,
        name: str,
        *,
        kind: str = "internal",
        attributes: dict[str, Any] | None = None,
        parent: Span | None = None,
        attach: bool = True,
    ) -> Iterator[Span]:
        """A span that records ``error.type`` and ERROR status when its body raises.

        ``attach=False`` keeps it out of the current context: for spans that live
        across ``yield`` in a generator, where attaching would leak into the caller.
        Exceptions are not recorded as events: their messages may quote content.
        """
        if not self.tracing:
            yield NO_SPAN
            return
        from opentelemetry import trace
        from opentelemetry.trace import SpanKind, Status, StatusCode

        context = trace.set_span_in_context(parent) if parent is not None else None
        span = self.tracer.start_span(
            name,
            context=context,
            kind=SpanKind.CLIENT if kind == "client" else SpanKind.INTERNAL,
            attributes=attributes,
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
        token = session_var.set(record.id if record is not None else None) if attach else None
        started = time.perf_counter()
        outcome, failure = "ok", None
        try:
            with self.span(f"threadline.{name}", attributes=attributes, attach=attach) as span:
                yield span
        except GeneratorExit:
            outcome = "abandoned"
            raise
        except BaseException as exc:
            outcome, failure = "error", error_type(exc)
            raise
        finally:
            session = record.id if record is not None else session_var.get()
            if token is not None:
                session_var.reset(token)
            log_event(
                f"threadline.{name}",
                session=session,
                store=self.store_kind,
                outcome=outcome,
                error_type=failure,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )

    @staticmethod
    def annotate(span: Span, record: SessionRecord) -> None:
        """Add the session attributes once the operation knows its session."""
        session_var.set(record.id)  # reset when the (attached) operation ends
        if span.is_recording():
            span.set_attributes(session_attributes(record))

    @contextmanager
    def store_step(self, span: Span | None, name: str) -> Iterator[None]:
        """Record a store call as an event with its duration (default: current span)."""
        if not self.tracing:
            yield
            return
        if span is None:
            from opentelemetry import trace

            span = trace.get_current_span()
        started = time.perf_counter()
        yield
        if span.is_recording():
            span.add_event(
                f"threadline.store.{name}",
                {"duration_ms": round((time.perf_counter() - started) * 1000, 3)},
            )

    @contextmanager
    def server_call(
        self, provider: Provider, operation: str, session_id: str, **attributes: Any
    ) -> Iterator[Span]:
        """A CLIENT span around one server-side state call (create/delete conversation)."""
        attrs = {
            GEN_AI_OPERATION_NAME: operation,
            GEN_AI_PROVIDER_NAME: provider.system_name,
            GEN_AI_CONVERSATION_ID: session_id,
            **attributes,
        }
        with self.span(operation, kind="client", attributes=attrs) as span:
            yield span

    @contextmanager
    def model_call(
        self, provider: Provider, request: TurnRequest, *, parent: Span | None = None
    ) -> Iterator[ModelCall]:
        """The CLIENT span of one model call, covering all its retries, and its metrics."""
        attrs = {
            GEN_AI_OPERATION_NAME: "chat",
            GEN_AI_PROVIDER_NAME: provider.system_name,
            GEN_AI_REQUEST_MODEL: request.model,
            GEN_AI_CONVERSATION_ID: request.session_id,
        }
        attach = parent is None
        started = time.perf_counter()
        call: ModelCall | None = None
        failure: str | None = None
        try:
            with self.span(
                f"chat {request.model}",
                kind="client",
                attributes=attrs,
                parent=parent,
                attach=attach,
            ) as span:
                call = ModelCall(span, self.capture, request.session_id)
                request.hooks = _Hooks(self, span, provider, request.session_id)
                if self.capture.enabled:
                    call.record_input(request, provider.name)
                token = session_var.set(request.session_id) if attach else None
                try:
                    yield call
                finally:
                    if token is not None:
                        session_var.reset(token)
                    call.emit_details()
        except GeneratorExit:
            raise
        except BaseException as exc:
            failure = error_type(exc)
            raise
        finally:
            self._record(provider, request, call, failure, time.perf_counter() - started)

    def _record(
        self,
        provider: Provider,
        request: TurnRequest,
        call: ModelCall | None,
        failure: str | None,
        seconds: float,
    ) -> None:
        """Metrics and the debug line of one model call (recorded even when unsampled)."""
        result = call.result if call is not None else None
        attrs: dict[str, Any] = {
            GEN_AI_OPERATION_NAME: "chat",
            GEN_AI_PROVIDER_NAME: provider.system_name,
            GEN_AI_REQUEST_MODEL: request.model,
        }
        if result is not None and result.response_model:
            attrs[GEN_AI_RESPONSE_MODEL] = result.response_model
        if failure is not None:
            attrs[ERROR_TYPE] = failure
        instruments = self._metrics()
        if instruments is not None:
            duration, token_usage = instruments
            duration.record(seconds, attrs)
            if result is not None:
                token_usage.record(result.usage.input_tokens, {**attrs, GEN_AI_TOKEN_TYPE: "input"})
                token_usage.record(
                    result.usage.output_tokens, {**attrs, GEN_AI_TOKEN_TYPE: "output"}
                )
        log_event(
            f"chat {request.model}",
            provider=provider.system_name,
            session=request.session_id,
            attempts=request.attempt,
            outcome="ok" if result is not None else ("error" if failure else "abandoned"),
            error_type=failure,
            response_id=result.response_id if result is not None else None,
            input_tokens=result.usage.input_tokens if result is not None else None,
            output_tokens=result.usage.output_tokens if result is not None else None,
            duration_ms=round(seconds * 1000, 2),
        )


class ModelCall:
    """Handle on a model call's span: retries and the result are recorded through it."""

    def __init__(self, span: Span, capture: content.ContentCapture, session_id: str) -> None:
        self.span = span
        self.result: TurnResult | None = None
        self._capture = capture
        self._session_id = session_id
        self._details: dict[str, str] = {}

    @contextmanager
    def active(self) -> Iterator[None]:
        """Make the span current for one step of a stream (never across a yield)."""
        if self.span is NO_SPAN:
            token = session_var.set(self._session_id)
            try:
                yield
            finally:
                session_var.reset(token)
            return
        from opentelemetry import trace

        with trace.use_span(
            self.span, end_on_exit=False, record_exception=False, set_status_on_exception=False
        ):
            token = session_var.set(self._session_id)
            try:
                yield
            finally:
                session_var.reset(token)

    def retry(self, attempt: int, exc: BaseException, delay: float) -> None:
        kind = error_type(exc)
        if self.span.is_recording():
            self.span.add_event(
                "threadline.retry",
                {"attempt": attempt, ERROR_TYPE: kind, "delay_s": round(delay, 3)},
            )
        log_event(
            "threadline.retry",
            session=self._session_id,
            attempt=attempt,
            error_type=kind,
            delay_s=round(delay, 3),
        )

    def record_input(self, request: TurnRequest, provider: str) -> None:
        """Opt-in content: what this call sends (only the new input while the
        provider's server-side copy is current, as on the wire)."""
        sent = [request.input]
        if request.mode != "native" or request.native_for(provider) is None:
            sent = [*request.history, request.input]
        self._details[content.GEN_AI_INPUT_MESSAGES] = content.input_messages(sent)
        if request.system:
            instructions = content.system_instructions(request.system)
            self._details[content.GEN_AI_SYSTEM_INSTRUCTIONS] = instructions
        self._on_span(self._details)

    def _on_span(self, attributes: dict[str, str]) -> None:
        if self._capture.on_span and self.span.is_recording():
            self.span.set_attributes(attributes)
        log_event("gen_ai.content", session=self._session_id, **attributes)

    def emit_details(self) -> None:
        if self._capture.on_event and self._details and self.span.is_recording():
            self.span.add_event(content.DETAILS_EVENT, self._details)

    def finish(self, result: TurnResult) -> None:
        self.result = result
        if self._capture.enabled:
            output = content.output_messages(result.output, result.finish_reasons)
            self._details[content.GEN_AI_OUTPUT_MESSAGES] = output
            self._on_span({content.GEN_AI_OUTPUT_MESSAGES: output})
        span = self.span
        if not span.is_recording():
            return
        attrs: dict[str, Any] = {
            GEN_AI_USAGE_INPUT_TOKENS: result.usage.input_tokens,
            GEN_AI_USAGE_OUTPUT_TOKENS: result.usage.output_tokens,
            GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: result.usage.cached_input_tokens,
        }
        if result.usage.cache_write_tokens:
            attrs[GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] = result.usage.cache_write_tokens
        if result.response_id:
            attrs[GEN_AI_RESPONSE_ID] = result.response_id
        if result.response_model:
            attrs[GEN_AI_RESPONSE_MODEL] = result.response_model
        if result.finish_reasons:
            attrs[GEN_AI_RESPONSE_FINISH_REASONS] = list(result.finish_reasons)
        span.set_attributes(attrs)
