"""Tracing: print the OpenTelemetry trace of a short offline conversation.

threadline emits spans and metrics through ``opentelemetry-api``; to see them you need
an SDK (``pip install opentelemetry-sdk``). This script builds private tracer and
meter providers, runs three turns with the offline ``echo`` provider inside one
``conversation`` span of its own, and prints the trace as a tree: each span with its
duration, the attributes threadline sets, and its events (store work, re-seeds,
retries). Then it prints the two GenAI metrics.

    python examples/tracing_console.py             # readable tree
    python examples/tracing_console.py --console   # the SDK's ConsoleSpanExporter (JSON)

Set OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=SPAN_ONLY to see message
content on the ``chat`` spans too; by default there is none.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

try:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import (
        ConsoleSpanExporter,
        SimpleSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )
except ImportError:
    sys.exit("This example needs the OpenTelemetry SDK: pip install opentelemetry-sdk")

import threadline as tl


class Collect(SpanExporter):
    """Keeps finished spans so the whole trace can be printed as a tree at the end."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


def duration_ms(span: ReadableSpan) -> float:
    return ((span.end_time or 0) - (span.start_time or 0)) / 1e6


def print_tree(spans: list[ReadableSpan]) -> None:
    children: dict[int | None, list[ReadableSpan]] = {}
    for span in sorted(spans, key=lambda s: s.start_time or 0):
        parent = span.parent.span_id if span.parent is not None else None
        children.setdefault(parent, []).append(span)

    def show(span: ReadableSpan, indent: str) -> None:
        kind = span.kind.name
        status = "" if span.status.is_ok else f"  [{span.status.status_code.name}]"
        print(f"{indent}{span.name}  ({kind}, {duration_ms(span):.2f} ms){status}")
        for key, value in (span.attributes or {}).items():
            shown = list(value) if isinstance(value, tuple) else value
            print(f"{indent}    {key} = {shown}")
        for event in span.events:
            details = ", ".join(f"{k}={v}" for k, v in (event.attributes or {}).items())
            print(f"{indent}    * {event.name}  {details}")
        assert span.context is not None
        for child in children.get(span.context.span_id, []):
            show(child, indent + "    ")

    for root in children.get(None, []):
        show(root, "")


def print_metrics(reader: InMemoryMetricReader) -> None:
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data is not None else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                print(f"{metric.name} ({metric.unit})")
                for point in metric.data.data_points:
                    if isinstance(point, HistogramDataPoint):
                        attributes = dict(point.attributes or {})
                        print(f"    count={point.count} sum={point.sum:.4g}  {attributes}")


def main(argv: list[str]) -> None:
    collect = Collect()
    tracer_provider = TracerProvider()
    exporter = ConsoleSpanExporter() if "--console" in argv else collect
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    tracer = tracer_provider.get_tracer("example")

    with (
        tl.SessionManager(
            store="memory://", tracer_provider=tracer_provider, meter_provider=meter_provider
        ) as manager,
        tracer.start_as_current_span("conversation"),
    ):
        session = manager.create(provider="echo", user="alice", system="Be terse.")
        session.send("Hello!")
        checkpoint = session.checkpoint("greeted")
        for _ in session.stream("Tell me more"):
            pass
        session.restore(checkpoint)  # drops the server-side copy...
        session.send("Something else")  # ...so this turn re-seeds it from the mirror
        session.complete()

    if exporter is collect:
        print("trace")
        print_tree(collect.spans)
    print()
    print("metrics")
    print_metrics(reader)
    tracer_provider.shutdown()
    meter_provider.shutdown()


if __name__ == "__main__":
    main(sys.argv[1:])
