"""The full path against a real AgentOS 3.1.10: trigger_now -> execute_run -> bridge ->
AgentOS -> run, session and trace rows."""

import pytest

from agentos_bridge.health import check_target
from scheduler_admin.engine.execution import execute_run
from scheduler_admin.engine.operations import trigger_now
from scheduler_admin.models import AgentSession, RunStatus, ScheduleRun, Trace, Trigger
from tests.factories import make_schedule

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def workflow_schedule(target, workflow: str, **overrides):
    return make_schedule(
        target=target,
        endpoint=f"/workflows/{workflow}/runs",
        payload={"message": "agents"},
        **overrides,
    )


def test_workflow_run_succeeds_with_ids_session_and_step_trace(agentos_target, inline_dispatch):
    run = trigger_now(workflow_schedule(agentos_target, "digest"))
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCESS, run.error
    assert run.run_id and run.session_id and run.request_sent_at
    assert run.output["content"] == "draft from (outline of (notes on agents))"
    assert [s["step_name"] for s in run.output["step_results"]] == ["research", "outline", "draft"]

    session = AgentSession.objects.get(session_id=run.session_id)
    assert (session.session_type, session.component_id) == ("workflow", "digest")
    assert session.target == agentos_target

    remote = Trace.objects.get(source="remote", schedule_run=run)
    assert remote.run_id == run.run_id
    spans = {s.name: s for s in remote.spans.all()}
    for step in ("research", "outline", "draft"):
        assert spans[f"{step}.aexecute"].parent_span_id == spans["Digest._aexecute"].span_id
    assert spans["research.aexecute"].output == "notes on agents"

    ours = Trace.objects.get(source="scheduler", schedule_run=run)
    names = list(ours.spans.values_list("name", flat=True))
    assert {"claim", "follow", "complete"} <= set(names)
    assert "follow" in names  # one span for all the status checks, not one per check


def test_workflow_whose_step_raises_fails_with_the_exception_text(agentos_target, inline_dispatch):
    run = trigger_now(workflow_schedule(agentos_target, "broken"))
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "the source feed is down" in run.error
    assert run.run_id


def test_workflow_past_its_timeout_times_out(agentos_target, inline_dispatch):
    run = trigger_now(workflow_schedule(agentos_target, "slow", timeout_s=1))
    run.refresh_from_db()
    assert run.status == RunStatus.TIMEOUT
    assert "Timed out after 1 s" in run.error


def test_stopped_server_gives_a_retried_connection_error_then_success(
    agentos, agentos_target, inline_dispatch
):
    schedule = workflow_schedule(agentos_target, "digest", max_retries=2, retry_delay_s=1)
    agentos.stop()
    try:
        run = trigger_now(schedule)
        run.refresh_from_db()
        assert run.status == RunStatus.FAILED
        assert run.error.startswith("Connection refused")
        retry = ScheduleRun.objects.get(retry_of=run)
        assert (retry.trigger, retry.attempt, retry.status) == (Trigger.RETRY, 2, "queued")
        assert Trace.objects.filter(source="scheduler", schedule_run=run).exists()
    finally:
        agentos.start()
    assert execute_run(retry.pk) == "success"
    retry.refresh_from_db()
    assert retry.run_id and retry.output["content"].startswith("draft from")


def test_check_target_lists_what_the_server_serves(agentos_target):
    found = check_target(agentos_target)
    assert found["ok"] and found["health"]["status"] == "ok"
    assert {"digest", "broken", "slow"} <= set(found["workflows"])
