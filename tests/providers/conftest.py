"""Fixtures for the provider tests: a fake OpenAI server, sessions on it, no sleeping.

See `openai_fake` for the server and the sync/async `Flavor`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from openai_fake import FakeOpenAI, Flavor

from threadline.testing import capture_telemetry


@pytest.fixture
def server() -> FakeOpenAI:
    return FakeOpenAI()


@pytest.fixture
def sleeps(no_sleep: list[float]) -> list[float]:
    """Retry waits, recorded instead of slept."""
    return no_sleep


@pytest.fixture(params=["async", "sync"])
async def flavor(
    request: pytest.FixtureRequest, server: FakeOpenAI, sleeps: list[float]
) -> AsyncIterator[Flavor]:
    telemetry = capture_telemetry()
    flavor = Flavor(request.param, server, telemetry)
    yield flavor
    await flavor.close()
    telemetry.shutdown()
