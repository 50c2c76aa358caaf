"""The AgentOS fields we used to lack, with meaningful values, and the way from a run
to its trace."""

import pytest
from django.test import Client

from scheduler_admin.engine import operations
from scheduler_admin.models import ApiToken, RunStatus, Trace
from tests.factories import make_run, make_schedule, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> Client:
    _, raw = ApiToken.issue(make_user("viewer"), "fields")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_schedules_say_who_owns_them_what_they_call_and_why_they_are_off(api):
    owner = make_user("admin", username="carol")
    schedule = operations.create_schedule(
        {"name": "digest", "endpoint": "/workflows/digest/runs", "cron_expr": "0 9 * * *"},
        user=owner,
    )
    operations.set_enabled(schedule, False, user=owner, reason="upstream down")
    body = api.get(f"/api/schedules/{schedule.pk}").json()
    assert body["user_id"] == "carol"
    assert (body["target_type"], body["target_id"]) == ("workflow", "digest")
    assert body["managed_by"] == "console"
    assert body["disabled_reason"] == "upstream down"
    plain = operations.create_schedule(
        {"name": "ping", "endpoint": "/health", "method": "GET", "cron_expr": "* * * * *"},
        code_managed=True,
    )
    body = api.get(f"/api/schedules/{plain.pk}").json()
    assert (body["target_type"], body["target_id"], body["user_id"]) == (None, None, None)
    assert body["managed_by"] == "code" and body["disabled_reason"] is None
    assert "search_time_ms" in api.get("/api/schedules").json()["meta"]


def test_a_run_names_its_caller_and_leads_to_its_trace(api):
    operator = make_user("operator", username="dave")
    schedule = make_schedule(endpoint="/agents/a/runs", payload={"message": "go"})
    run = operations.trigger_now(schedule, user=operator)
    run.status, run.run_id = RunStatus.SUCCESS, "agent-run-1"
    run.save()
    Trace.objects.create(trace_id="ours-1", run_id="agent-run-1", schedule_run=run)
    Trace.objects.create(
        trace_id="theirs-1", run_id="agent-run-1", schedule_run=run, source="remote"
    )
    body = api.get(f"/api/schedules/{schedule.pk}/runs/{run.pk}").json()
    assert body["user_id"] == "dave"
    assert (body["trace_id"], body["scheduler_trace_id"]) == ("theirs-1", "ours-1")
    listed = api.get("/api/runs").json()["data"][0]
    assert listed["trace_id"] == "theirs-1"
    # The agent run id leads to the agent's trace too.
    assert api.get("/api/traces/agent-run-1").json()["trace_id"] == "theirs-1"
    assert api.get("/api/traces/ours-1").json()["trace_id"] == "ours-1"


def test_a_scheduled_run_belongs_to_the_schedules_owner(api):
    owner = make_user("admin", username="erin")
    schedule = operations.create_schedule(
        {"name": "n", "endpoint": "/noop", "cron_expr": "0 9 * * *"}, user=owner
    )
    run = make_run(schedule)
    body = api.get(f"/api/schedules/{schedule.pk}/runs/{run.pk}").json()
    assert body["user_id"] == "erin" and body["trace_id"] is None
