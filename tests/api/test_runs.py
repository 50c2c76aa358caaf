"""/api/runs (history, retry), /api/traces/<id> and /api/sessions/<id> over HTTP."""

from datetime import UTC, datetime, timedelta

import pytest

from scheduler_admin.models import (
    AgentSession,
    RunStatus,
    ScheduleRun,
    Span,
    Target,
    Trace,
    Trigger,
)
from tests.api.conftest import LIVE
from tests.factories import make_run, make_schedule

pytestmark = LIVE

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _ids(response) -> list[int]:
    return [int(run["id"]) for run in response.json()["data"]]


def test_run_history_is_newest_first_with_keyset_pages(viewer_api):
    schedule = make_schedule()
    runs = [make_run(schedule, scheduled_for=T0 + timedelta(minutes=i)) for i in range(5)]
    first = viewer_api.get("runs", params={"limit": 2})
    assert _ids(first) == [runs[4].pk, runs[3].pk]
    assert first.json()["meta"] == {"limit": 2, "next_before": str(runs[3].pk)}
    second = viewer_api.get("runs", params={"limit": 2, "before": runs[3].pk})
    assert _ids(second) == [runs[2].pk, runs[1].pk]
    last = viewer_api.get("runs", params={"limit": 2, "before": runs[1].pk})
    assert _ids(last) == [runs[0].pk]
    assert last.json()["meta"]["next_before"] is None
    assert "total_count" not in last.json()["meta"]  # no COUNT(*) over the run table


def test_run_history_filters(viewer_api):
    other_target = Target.objects.create(name="remote", base_url="http://agentos.invalid")
    digest = make_schedule(name="digest")
    remote = make_schedule(name="remote-one", target="remote")
    failed = make_run(digest, status=RunStatus.FAILED, error="Connection refused by agent")
    manual = make_run(digest, trigger=Trigger.MANUAL, scheduled_for=T0, status=RunStatus.SUCCESS)
    on_remote = make_run(remote, status=RunStatus.FAILED, error="HTTP 500")
    ScheduleRun.objects.filter(pk=on_remote.pk).update(queued_at=T0)
    assert other_target.schedules.count() == 1

    cases = [
        ({"status": "failed"}, [on_remote.pk, failed.pk]),
        ({"trigger": "manual"}, [manual.pk]),
        ({"schedule": digest.pk}, [manual.pk, failed.pk]),
        ({"target": "remote"}, [on_remote.pk]),
        ({"q": "refused"}, [failed.pk]),
        ({"until": int(T0.timestamp()) + 1}, [on_remote.pk]),
        ({"since": int(T0.timestamp()) + 1}, [manual.pk, failed.pk]),
        ({"status": "failed", "schedule": remote.pk}, [on_remote.pk]),
    ]
    for params, expected in cases:
        response = viewer_api.get("runs", params=params)
        assert response.status_code == 200, (params, response.text)
        assert _ids(response) == expected, params


@pytest.mark.parametrize(
    "params",
    [
        {"status": "exploded"},
        {"trigger": "x"},
        {"since": "yesterday"},
        {"limit": 501},
        {"before": 0},
    ],
)
def test_bad_history_filters_are_422(viewer_api, params):
    response = viewer_api.get("runs", params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", next(iter(params))]


def test_retry_creates_a_linked_attempt(operator_api):
    schedule = make_schedule(endpoint="/agents/a/runs", payload={"message": "first"})
    failed = make_run(schedule, status=RunStatus.FAILED, error="boom")
    response = operator_api.post(f"runs/{failed.pk}/retry")
    assert response.status_code == 201, response.text
    retry = response.json()
    assert retry["retry_of"] == str(failed.pk) and retry["attempt"] == 2
    assert retry["trigger"] == "retry" and retry["status"] == "queued"
    assert retry["scheduled_for"] == int(failed.scheduled_for.timestamp())
    assert ScheduleRun.objects.get(pk=int(retry["id"])).retry_of_id == failed.pk
    failed.refresh_from_db()
    assert failed.status == RunStatus.FAILED and failed.error == "boom"  # history intact

    again = operator_api.post(f"runs/{failed.pk}/retry")
    assert again.status_code == 409 and "already retried" in again.json()["detail"]


def test_retry_with_an_edited_payload(operator_api):
    schedule = make_schedule(endpoint="/agents/a/runs", payload={"message": "first"})
    failed = make_run(schedule, status=RunStatus.TIMEOUT)
    response = operator_api.post(f"runs/{failed.pk}/retry", json={"payload": {"message": "2nd"}})
    assert response.status_code == 201
    assert response.json()["input"] == {"message": "2nd"}


def test_retry_refusals(operator_api):
    schedule = make_schedule()
    queued = make_run(schedule)
    failed = make_run(schedule, status=RunStatus.FAILED, scheduled_for=T0)
    assert operator_api.post(f"runs/{queued.pk}/retry").status_code == 409
    bad_payload = operator_api.post(f"runs/{failed.pk}/retry", json={"payload": [1]})
    assert bad_payload.status_code == 422
    assert bad_payload.json()["detail"][0]["loc"] == ["body", "payload"]
    unknown = operator_api.post(f"runs/{failed.pk}/retry", json={"attempt": 7})
    assert unknown.status_code == 422
    assert operator_api.post("runs/424242/retry").status_code == 404
    assert not failed.retries.exists()


def _span(trace, span_id, parent, name, kind, start, **extra) -> Span:
    return Span.objects.create(
        trace=trace,
        span_id=span_id,
        parent_span_id=parent,
        name=name,
        span_type=kind,
        start_time=T0 + timedelta(seconds=start),
        end_time=T0 + timedelta(seconds=start + 1),
        duration_ms=1000 + start,
        status="OK",
        **extra,
    )


def test_trace_is_returned_as_a_nested_tree(viewer_api):
    schedule = make_schedule()
    run = make_run(schedule, run_id="r-1", session_id="s-1")
    trace = Trace.objects.create(
        trace_id="t-1",
        name="POST /workflows/digest/runs",
        status="OK",
        run_id="r-1",
        session_id="s-1",
        workflow_id="digest",
        start_time=T0,
        duration_ms=2500,
        total_spans=4,
        schedule_run=run,
    )
    _span(trace, "root", "", "POST /workflows/digest/runs", "HTTP", 0, input="hello")
    _span(trace, "wf", "root", "digest.run", "WORKFLOW", 1, attributes={"session.id": "s-1"})
    _span(trace, "step-b", "wf", "summarise", "STEP", 3)
    _span(trace, "step-a", "wf", "collect", "STEP", 2, error="late", output="")

    response = viewer_api.get("traces/t-1")
    assert response.status_code == 200
    body = response.json()
    assert (body["trace_id"], body["duration"], body["run_id"]) == ("t-1", "2.50s", "r-1")
    assert body["schedule_run_id"] == str(run.pk) and body["input"] == "hello"
    [root] = body["tree"]
    assert root["type"] == "HTTP" and root["id"] == "root"
    [workflow] = root["spans"]
    assert workflow["metadata"] == {"session.id": "s-1"}
    assert [s["name"] for s in workflow["spans"]] == ["collect", "summarise"]  # start order
    assert workflow["spans"][0]["error"] == "late" and workflow["spans"][0]["spans"] is None
    assert workflow["start_time"] == (T0 + timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    assert viewer_api.get("traces/unknown").status_code == 404


def test_session_with_its_runs(viewer_api):
    schedule = make_schedule()
    older = make_run(schedule, session_id="sess-9", status=RunStatus.SUCCESS)
    newer = make_run(schedule, session_id="sess-9", scheduled_for=T0)
    make_run(schedule, session_id="other", scheduled_for=T0 + timedelta(hours=1))
    AgentSession.objects.create(
        session_id="sess-9",
        session_type="workflow",
        session_name="Digest",
        session_state={"step": 2},
        created_at=T0,
    )
    body = viewer_api.get("sessions/sess-9").json()
    assert body["session_name"] == "Digest" and body["session_state"] == {"step": 2}
    assert body["created_at"] == int(T0.timestamp())
    assert [int(r["id"]) for r in body["runs"]] == [newer.pk, older.pk]

    only_runs = viewer_api.get("sessions/other").json()  # known from runs alone
    assert only_runs["session_name"] is None and len(only_runs["runs"]) == 1
    assert viewer_api.get("sessions/never-seen").status_code == 404
