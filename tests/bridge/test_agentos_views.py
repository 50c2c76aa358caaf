"""The local AgentOS's read endpoints with odd ids and bad query values (Django's
test client: no server needed for these)."""

import pytest
from django.test import Client
from django.utils import timezone

from scheduler_admin.models import AgentSession, Span, Trace

TOKEN = "local-agentos-views-7c1e"


@pytest.fixture
def agentos(db, monkeypatch) -> Client:
    monkeypatch.setenv("AGENTOS_LOCAL_TOKEN", TOKEN)
    return Client(headers={"Authorization": f"Bearer {TOKEN}"})


def _trace(trace_id: str, source="local", session_id="") -> Trace:
    now = timezone.now()
    trace = Trace.objects.create(
        trace_id=trace_id, name="t", source=source, session_id=session_id, start_time=now
    )
    Span.objects.create(trace=trace, span_id="root", name="root", start_time=now)
    Span.objects.create(trace=trace, span_id="kid", parent_span_id="root", name="kid")
    return trace


def test_trace_and_session_ids_with_slashes_resolve(agentos):
    _trace("t/1 <x>", session_id="s/1")
    AgentSession.objects.create(session_id="s/1", session_type="agent", component_id="a")
    trace = agentos.get("/agentos/traces/t%2F1%20%3Cx%3E")
    assert trace.status_code == 200
    assert trace.json()["trace_id"] == "t/1 <x>"
    assert [n["id"] for n in trace.json()["tree"]] == ["root"]
    assert [n["id"] for n in trace.json()["tree"][0]["spans"]] == ["kid"]
    session = agentos.get("/agentos/sessions/s/1")
    assert session.status_code == 200
    assert session.json()["session_id"] == "s/1"


@pytest.mark.parametrize("value", ["abc", "2026-13-01", "yesterday"])
def test_bad_start_time_is_a_422_like_agentos(agentos, value):
    response = agentos.get("/agentos/traces", {"start_time": value})
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["query", "start_time"]


def test_start_time_filters_and_a_huge_page_is_just_empty(agentos):
    _trace("t-1")
    assert (
        agentos.get("/agentos/traces", {"start_time": "2000-01-01"}).json()["meta"]["total_count"]
        == 1
    )
    assert (
        agentos.get("/agentos/traces", {"start_time": "2999-01-01T00:00:00Z"}).json()["data"] == []
    )
    far = agentos.get("/agentos/traces", {"page": "9" * 30})
    assert far.status_code == 200 and far.json()["data"] == []


def test_only_local_traces_and_their_sessions_are_served(agentos):
    _trace("ours", session_id="s-local")
    _trace("scheduler-side", source="scheduler", session_id="s-sched")
    _trace("imported", source="remote", session_id="s-remote")
    for session_id in ("s-local", "s-sched", "s-remote"):
        AgentSession.objects.create(session_id=session_id, session_type="agent")
    listed = agentos.get("/agentos/traces").json()["data"]
    assert [row["trace_id"] for row in listed] == ["ours"]
    assert agentos.get("/agentos/traces/ours").status_code == 200
    assert agentos.get("/agentos/traces/scheduler-side").status_code == 404
    assert agentos.get("/agentos/traces/imported").status_code == 404
    assert agentos.get("/agentos/sessions/s-local").status_code == 200
    assert agentos.get("/agentos/sessions/s-sched").status_code == 404
    assert agentos.get("/agentos/sessions/s-remote").status_code == 404


def test_runs_beyond_the_concurrency_cap_are_refused_with_retry_after(agentos, monkeypatch):
    from agentos_bridge import views

    monkeypatch.setattr(views, "run_slots", views.RunSlots(0))
    answer = agentos.post("/agentos/workflows/digest/runs", {"message": "hi", "background": "true"})
    assert answer.status_code == 429
    assert answer["Retry-After"] == "5"


def test_a_foreground_run_is_answered_after_the_sync_cap_with_its_run_id(
    agentos, monkeypatch, transactional_db
):
    import asyncio
    import threading

    from agno.workflow import Step, Workflow

    from agentos_bridge import views
    from agentos_bridge.runtime import registry

    release = threading.Event()

    async def wait(step_input):
        # In a thread, as a step that blocks should: agno runs a plain function step
        # on the run's event loop.
        return str(await asyncio.to_thread(release.wait, 10))

    stuck = Step(name="wait", executor=wait)
    registry.register(Workflow(id="t-stuck-sync", name="Stuck", steps=[stuck]))
    monkeypatch.setattr(views, "SYNC_WAIT_S", 0.2)
    try:
        answer = agentos.post("/agentos/workflows/t-stuck-sync/runs", {"message": "hi"})
    finally:
        release.set()
        registry.unregister("t-stuck-sync")
    assert answer.status_code == 504
    assert answer.json()["run_id"] and "poll" in answer.json()["detail"]
    assert views.run_slots.wait_idle(10)
