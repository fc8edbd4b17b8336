"""Fixtures for the tracing tests: private in-memory telemetry and no sleeping.

Every test gets its own tracer and meter providers (never the global ones), a clean
content-capture and log setting, and retries that record their waits instead of
sleeping. (tests/conftest.py already refuses any network access.)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from threadline import _logs
from threadline._genai_content import CAPTURE_ENV
from threadline.testing import TelemetryCapture, capture_telemetry


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No content capture or debug logging unless a test asks; no stray handlers after."""
    monkeypatch.delenv(CAPTURE_ENV, raising=False)
    monkeypatch.delenv(_logs.LOG_ENV, raising=False)
    level = _logs.logger.level
    yield
    for handler in list(_logs.logger.handlers):
        if isinstance(handler, _logs._Handler):
            _logs.logger.removeHandler(handler)
    _logs.logger.setLevel(level)


@pytest.fixture(autouse=True)
def _retries_do_not_sleep(no_sleep: list[float]) -> list[float]:
    """Every tracing test records retry waits instead of sleeping."""
    return no_sleep


@pytest.fixture
def telemetry() -> Iterator[TelemetryCapture]:
    capture = capture_telemetry()
    yield capture
    capture.shutdown()
