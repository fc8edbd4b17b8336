"""One `threadline.<operation>` INTERNAL span per public lifecycle call, sync and async.

The same scenario, which calls every lifecycle operation once (send twice, to cover
the native-state re-seed), runs through both APIs; the spans must be identical in
name, order, kind and standard attributes.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

import threadline as tl
from threadline.testing import TelemetryCapture

STORE = "memory"

# (span name, whose session: "s", "child", "copy" or None for manager-wide calls)
EXPECTED: list[tuple[str, str | None]] = [
    ("threadline.create", "s"),
    ("threadline.send", "s"),
    ("threadline.stream", "s"),
    ("threadline.checkpoint", "s"),
    ("threadline.restore", "s"),
    ("threadline.fork", "s"),
    ("threadline.export", "s"),
    ("threadline.get", "s"),
    ("threadline.list", None),
    ("threadline.pause", "s"),
    ("threadline.resume", "s"),
    ("threadline.fail", "s"),
    ("threadline.resume", "s"),
    ("threadline.complete", "s"),
    ("threadline.archive", "s"),
    ("threadline.reactivate", "s"),
    ("threadline.send", "s"),
    ("threadline.cancel", "s"),
    ("threadline.import", "copy"),
    ("threadline.delete", "child"),
    ("threadline.delete", "s"),
    ("threadline.cleanup_expired", None),
]


def run_sync(manager: tl.SessionManager) -> dict[str, str]:
    s = manager.create(system="Be terse.")
    s.send("hello")
    assert [ev.type for ev in s.stream("and then?")][-1] == "done"
    cp = s.checkpoint("one")
    s.restore(cp)
    child = s.fork()
    data = s.export()
    manager.get(s.id)
    manager.list()
    s.pause()
    s.resume()
    s.fail("gave up")
    s.resume()
    s.complete()
    s.archive()
    s.reactivate()
    s.send("once more")
    s.cancel()
    copy = manager.import_session(data)
    child.delete()
    manager.delete(s.id)
    assert manager.cleanup_expired() == 0
    return {"s": s.id, "child": child.id, "copy": copy.id}


async def run_async(manager: tl.AsyncSessionManager) -> dict[str, str]:
    s = await manager.create(system="Be terse.")
    await s.send("hello")
    assert [ev.type async for ev in s.stream("and then?")][-1] == "done"
    cp = await s.checkpoint("one")
    await s.restore(cp)
    child = await s.fork()
    data = await s.export()
    await manager.get(s.id)
    await manager.list()
    await s.pause()
    await s.resume()
    await s.fail("gave up")
    await s.resume()
    await s.complete()
    await s.archive()
    await s.reactivate()
    await s.send("once more")
    await s.cancel()
    copy = await manager.import_session(data)
    await child.delete()
    await manager.delete(s.id)
    assert await manager.cleanup_expired() == 0
    return {"s": s.id, "child": child.id, "copy": copy.id}


def session_attributes(session_id: str) -> dict[str, Any]:
    return {
        "gen_ai.conversation.id": session_id,
        "gen_ai.provider.name": "echo",
        "gen_ai.request.model": "echo-1",
        "threadline.session.mode": "native",
        "threadline.store": STORE,
    }


STANDARD_KEYS = set(session_attributes("x"))


def check_lifecycle_spans(telemetry: TelemetryCapture, ids: dict[str, str]) -> None:
    internal = [s for s in telemetry.spans() if s.kind is SpanKind.INTERNAL]
    assert [s.name for s in internal] == [name for name, _ in EXPECTED]
    for span, (name, whose) in zip(internal, EXPECTED, strict=True):
        attributes = dict(span.attributes or {})
        standard = {k: v for k, v in attributes.items() if k in STANDARD_KEYS}
        expected = session_attributes(ids[whose]) if whose else {"threadline.store": STORE}
        assert standard == expected, name
        assert span.status.status_code is StatusCode.UNSET, name
        assert span.parent is None, f"{name} is a root span"
    fork = internal[[n for n, _ in EXPECTED].index("threadline.fork")]
    assert fork.attributes is not None
    assert fork.attributes["threadline.fork.child_id"] == ids["child"]
    cleanup = internal[-1]
    assert cleanup.attributes is not None
    assert cleanup.attributes["threadline.sessions.removed"] == 0


def check_model_calls(telemetry: TelemetryCapture) -> None:
    """Each send/stream has exactly one `chat echo-1` CLIENT child."""
    parents = {
        s.context.span_id: s.name
        for s in telemetry.spans()
        if s.name in ("threadline.send", "threadline.stream") and s.context is not None
    }
    calls = [
        s for s in telemetry.spans() if s.kind is SpanKind.CLIENT and s.name.startswith("chat")
    ]
    assert [s.name for s in calls] == ["chat echo-1"] * 3
    assert [parents[s.parent.span_id] for s in calls if s.parent is not None] == [
        "threadline.send",
        "threadline.stream",
        "threadline.send",
    ]


def check_native_state_spans(telemetry: TelemetryCapture, ids: dict[str, str]) -> None:
    """The re-seed after restore is an event; deleting server-side state a CLIENT span."""
    last_chat = telemetry.spans("chat echo-1")[-1]
    reseeds = [e for e in last_chat.events if e.name == "threadline.native.reseed"]
    assert [dict(e.attributes or {}) for e in reseeds] == [{"reason": "stale", "items": 4}]
    # s dropped its server copy on restore (deleted then, under the restore span) and
    # got a new one on its last send (deleted with the session): the child (forked)
    # and the copy (imported) never had any.
    deletes = telemetry.spans("delete_conversation")
    assert len(deletes) == 2
    for delete in deletes:
        assert delete.kind is SpanKind.CLIENT
        assert dict(delete.attributes or {}) == {
            "gen_ai.operation.name": "delete_conversation",
            "gen_ai.provider.name": "echo",
            "gen_ai.conversation.id": ids["s"],
        }
    names = {sp.context.span_id: sp.name for sp in telemetry.spans()}
    assert [names[d.parent.span_id] for d in deletes if d.parent is not None] == [
        "threadline.restore",
        "threadline.delete",
    ]
    delete = deletes[-1]
    owner = {s.context.span_id: s for s in telemetry.spans("threadline.delete")}
    assert delete.parent is not None
    assert owner[delete.parent.span_id].attributes == {
        **session_attributes(ids["s"]),
        "threadline.store": STORE,
    }


def test_every_lifecycle_call_has_a_span_sync(telemetry: TelemetryCapture) -> None:
    """The blocking API: one span per call, named and attributed as DESIGN §6 says."""
    with tl.SessionManager(f"{STORE}://", **telemetry.manager_options) as manager:
        ids = run_sync(manager)
    check_lifecycle_spans(telemetry, ids)
    check_model_calls(telemetry)
    check_native_state_spans(telemetry, ids)


async def test_every_lifecycle_call_has_a_span_async(telemetry: TelemetryCapture) -> None:
    """The async API produces exactly the same spans as the blocking one."""
    async with tl.AsyncSessionManager(f"{STORE}://", **telemetry.manager_options) as manager:
        ids = await run_async(manager)
    check_lifecycle_spans(telemetry, ids)
    check_model_calls(telemetry)
    check_native_state_spans(telemetry, ids)


def test_store_work_shows_as_events_with_durations(telemetry: TelemetryCapture) -> None:
    """Store calls are events on the operation span, each with ``duration_ms``."""
    with tl.SessionManager(f"{STORE}://", **telemetry.manager_options) as manager:
        s = manager.create()
        s.send("hi")
        manager.get(s.id)
    events: dict[str, list[str]] = {
        span.name: [e.name for e in span.events] for span in telemetry.spans()
    }
    assert events["threadline.create"] == ["threadline.store.create"]
    assert events["threadline.send"] == ["threadline.store.commit"]
    assert events["threadline.get"] == ["threadline.store.get"]
    for span in telemetry.spans():
        for event in span.events:
            if event.name.startswith("threadline.store."):
                assert event.attributes is not None
                duration = event.attributes["duration_ms"]
                assert isinstance(duration, float)
                assert duration >= 0


def test_manager_delete_is_one_span(telemetry: TelemetryCapture) -> None:
    """``manager.delete(id)`` is one `threadline.delete` span, not a get plus a delete."""
    with tl.SessionManager(f"{STORE}://", **telemetry.manager_options) as manager:
        s = manager.create(user="alice")
        telemetry.clear()
        manager.delete(s.id, user="alice")
    assert [span.name for span in telemetry.spans()] == ["threadline.delete"]
    span = telemetry.span("threadline.delete")
    assert [e.name for e in span.events] == ["threadline.store.get", "threadline.store.delete"]
    assert dict(span.attributes or {}) == session_attributes(s.id)


def test_spans_nest_under_the_callers_span(telemetry: TelemetryCapture) -> None:
    """The blocking API runs on its own loop thread, yet its spans join the caller's trace."""
    tracer = telemetry.tracer_provider.get_tracer("app")
    with (
        tl.SessionManager(f"{STORE}://", **telemetry.manager_options) as manager,
        tracer.start_as_current_span("handle-request") as outer,
    ):
        manager.create().send("hi")
    outer_id = outer.get_span_context().span_id
    roots: list[ReadableSpan] = [
        s for s in telemetry.spans() if s.parent is not None and s.parent.span_id == outer_id
    ]
    assert [s.name for s in roots] == ["threadline.create", "threadline.send"]


def test_everything_works_without_a_tracer_provider() -> None:
    """No providers passed and none configured globally: the API's no-op tracer and
    meter; every lifecycle call still behaves."""
    from opentelemetry import metrics, trace

    assert type(trace.get_tracer_provider()).__name__ == "ProxyTracerProvider"
    assert type(metrics.get_meter_provider()).__name__ == "_ProxyMeterProvider"
    with tl.SessionManager(f"{STORE}://") as manager:
        ids = run_sync(manager)
    assert ids["s"].startswith("ses_")


async def test_everything_works_with_sampling_off() -> None:
    """ALWAYS_OFF: no span is exported, nothing breaks, and metrics are still recorded."""
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    from threadline.testing import capture_telemetry

    telemetry = capture_telemetry(sampler=ALWAYS_OFF)
    try:
        async with tl.AsyncSessionManager(f"{STORE}://", **telemetry.manager_options) as m:
            await run_async(m)
        assert telemetry.spans() == []
        (duration,) = telemetry.points("gen_ai.client.operation.duration")
        assert duration.count == 3  # send, stream, send
        assert {
            (p.attributes or {})["gen_ai.token.type"]: p.count
            for p in telemetry.points("gen_ai.client.token.usage")
        } == {"input": 3, "output": 3}
    finally:
        telemetry.shutdown()
