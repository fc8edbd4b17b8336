"""The two GenAI client histograms: attributes, buckets, and no session ids."""

from __future__ import annotations

import threadline as tl
from threadline.testing import TelemetryCapture

DURATION_BOUNDS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48)
TOKEN_BOUNDS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304)

CALL = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "echo",
    "gen_ai.request.model": "echo-1",
    "gen_ai.response.model": "echo-1",
}


async def test_both_metrics_per_model_call(telemetry: TelemetryCapture) -> None:
    """Two turns: duration counted twice; input and output tokens summed per type."""
    async with tl.AsyncSessionManager("memory://", **telemetry.manager_options) as manager:
        s = await manager.create()
        await s.send("one two")
        async for _ in s.stream("three"):
            pass
        usage = s.usage

    (duration,) = telemetry.points("gen_ai.client.operation.duration")
    assert dict(duration.attributes or {}) == CALL
    assert duration.count == 2
    assert 0 < duration.sum < 5
    assert tuple(duration.explicit_bounds[:12]) == DURATION_BOUNDS
    assert duration.explicit_bounds[-2:] == (40.96, 81.92)

    tokens = {
        (p.attributes or {})["gen_ai.token.type"]: p
        for p in telemetry.points("gen_ai.client.token.usage")
    }
    assert set(tokens) == {"input", "output"}
    for kind, point in tokens.items():
        assert dict(point.attributes or {}) == {**CALL, "gen_ai.token.type": kind}
        assert point.count == 2
        assert tuple(point.explicit_bounds[:12]) == TOKEN_BOUNDS
        assert point.explicit_bounds[-1] == 67108864
    # Input tokens include the cached ones, as the conventions count them.
    assert tokens["input"].sum == usage.input_tokens == 2 + 6
    assert tokens["output"].sum == usage.output_tokens


def test_metrics_carry_no_session_ids(telemetry: TelemetryCapture) -> None:
    """Session and response ids are unbounded: they never appear on a metric."""
    with tl.SessionManager("memory://", **telemetry.manager_options) as manager:
        for _ in range(3):
            manager.create(user="alice").send("hi")
    points = telemetry.points("gen_ai.client.operation.duration") + telemetry.points(
        "gen_ai.client.token.usage"
    )
    assert len(points) == 3  # three calls aggregate into one point per attribute set
    for point in points:
        keys = set(point.attributes or {})
        assert keys <= {*CALL, "gen_ai.token.type"}
        values = " ".join(str(v) for v in (point.attributes or {}).values())
        assert "ses_" not in values and "echo_resp" not in values and "alice" not in values


def test_only_model_calls_record_metrics(telemetry: TelemetryCapture) -> None:
    """Lifecycle calls other than send/stream record no metric (they are not model calls)."""
    with tl.SessionManager("memory://", **telemetry.manager_options) as manager:
        s = manager.create()
        s.checkpoint()
        s.export()
    assert telemetry.points("gen_ai.client.operation.duration") == []
    assert telemetry.points("gen_ai.client.token.usage") == []
