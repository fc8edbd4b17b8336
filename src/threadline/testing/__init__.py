"""Tools for testing code built on threadline: offline fakes and telemetry capture."""

from __future__ import annotations

from ._spans import TelemetryCapture, capture_telemetry

__all__ = ["TelemetryCapture", "capture_telemetry"]
