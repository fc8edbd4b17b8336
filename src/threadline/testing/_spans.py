"""Capture threadline's spans and metrics in memory, for tests of code built on it.

```python
import threadline as tl
from threadline.testing import capture_telemetry

telemetry = capture_telemetry()
with tl.SessionManager(store="memory://", **telemetry.manager_options) as manager:
    manager.create().send("hi")
assert telemetry.span("threadline.send").attributes["gen_ai.provider.name"] == "echo"
assert telemetry.points("gen_ai.client.token.usage")
```

The providers are private to the capture: nothing touches the global tracer or meter
provider, so tests stay independent. Needs ``opentelemetry-sdk`` (a test dependency;
threadline itself only needs the API), imported when `capture_telemetry` is called so
that ``import threadline.testing`` works without it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.sdk.trace.sampling import Sampler

__all__ = ["TelemetryCapture", "capture_telemetry"]


class TelemetryCapture(NamedTuple):
    """In-memory tracer and meter providers and what they recorded.

    Unpacks as ``(tracer_provider, meter_provider, exporter, reader)``.
    """

    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader

    @property
    def manager_options(self) -> dict[str, Any]:
        """``SessionManager(**capture.manager_options)`` reports to this capture."""
        return {"tracer_provider": self.tracer_provider, "meter_provider": self.meter_provider}

    def spans(self, name: str | None = None) -> list[ReadableSpan]:
        """Finished spans in start order, optionally only those called ``name``."""
        found = sorted(self.exporter.get_finished_spans(), key=lambda s: s.start_time or 0)
        return [s for s in found if name is None or s.name == name]

    def span(self, name: str) -> ReadableSpan:
        """The one finished span called ``name`` (an AssertionError if not exactly one)."""
        found = self.spans(name)
        if len(found) != 1:
            names = [s.name for s in self.spans()]
            raise AssertionError(f"expected one span {name!r}, found {len(found)} in {names}")
        return found[0]

    def points(self, metric: str) -> list[HistogramDataPoint]:
        """The data points recorded so far for histogram ``metric``."""
        from opentelemetry.sdk.metrics.export import HistogramDataPoint

        data = self.reader.get_metrics_data()
        found: list[HistogramDataPoint] = []
        for resource in data.resource_metrics if data is not None else ():
            for scope in resource.scope_metrics:
                for m in scope.metrics:
                    if m.name == metric:
                        found.extend(
                            p for p in m.data.data_points if isinstance(p, HistogramDataPoint)
                        )
        return found

    def values(self) -> Iterator[str]:
        """Every name and attribute value recorded, as text: for asserting that a
        secret or a piece of content appears nowhere."""

        def flatten(attributes: Any) -> Iterator[str]:
            for key, value in (attributes or {}).items():
                yield str(key)
                if isinstance(value, tuple | list):
                    yield from (str(v) for v in value)
                else:
                    yield str(value)

        for span in self.exporter.get_finished_spans():
            yield span.name
            if span.status.description:
                yield span.status.description
            yield from flatten(span.attributes)
            for event in span.events:
                yield event.name
                yield from flatten(event.attributes)
            for link in span.links:
                yield from flatten(link.attributes)
        data = self.reader.get_metrics_data()
        for resource in data.resource_metrics if data is not None else ():
            for scope in resource.scope_metrics:
                for m in scope.metrics:
                    yield m.name
                    for point in m.data.data_points:
                        yield from flatten(point.attributes)

    def clear(self) -> None:
        """Forget the spans recorded so far (metrics are cumulative and stay)."""
        self.exporter.clear()

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


def capture_telemetry(*, sampler: Sampler | None = None) -> TelemetryCapture:
    """Fresh in-memory tracer and meter providers (``sampler`` defaults to always-on)."""
    try:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    except ImportError:  # pragma: no cover - the dev extra installs it
        raise ConfigurationError("capture_telemetry needs: pip install opentelemetry-sdk") from None

    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider(sampler=sampler) if sampler else TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    return TelemetryCapture(tracer_provider, meter_provider, exporter, reader)
