"""Durable agent calls against a real AgentOS (agno 3.1): a worker only submits, a
follower checks the run to its end, and every recovery finds the run the server already
has instead of sending another. The server counts the submits it receives."""

from datetime import timedelta

import pytest
import requests
from django.db import DataError, OperationalError

from scheduler_admin.engine import operations
from scheduler_admin.engine.cancel import RunNotCancellable, cancel_run
from scheduler_admin.engine.clock import db_now
from scheduler_admin.engine.db_retry import until_it_lands
from scheduler_admin.engine.execution import execute_run
from scheduler_admin.engine.follow import claim_due, follow_until_done, step
from scheduler_admin.engine.recovery import reap_expired_leases
from scheduler_admin.models import RunStage, RunStatus, ScheduleRun, Target
from tests.factories import make_schedule


def submits(agentos, run: ScheduleRun) -> int:
    counts = requests.get(agentos.url + "/test/counts", timeout=5).json()
    return counts.get(f"submit:{run.idempotency_key}", 0)


def cancels(agentos, run: ScheduleRun) -> int:
    counts = requests.get(agentos.url + "/test/counts", timeout=5).json()
    return counts.get(f"cancel:{run.idempotency_key}", 0)


def queued_run(target, workflow="slow", **schedule_fields) -> ScheduleRun:
    schedule = make_schedule(
        target=target,
        endpoint=f"/workflows/{workflow}/runs",
        payload={"message": "go"},
        **schedule_fields,
    )
    return operations.trigger_now(schedule)  # manual dispatch in tests: stays queued


@pytest.fixture
def fast_submit_timeout(settings):
    settings.SCHEDULER = {**settings.SCHEDULER, "SUBMIT_TIMEOUT_S": 1.0}


def test_the_worker_only_submits_and_a_follower_records_the_outcome(agentos_target, agentos):
    run = queued_run(agentos_target)
    assert execute_run(run.pk) == "submitted"
    run.refresh_from_db()
    # The worker is free: the run is the database's business now.
    assert (run.status, run.stage, run.worker, run.lease_expires_at) == (
        RunStatus.RUNNING,
        RunStage.FOLLOWING,
        "",
        None,
    )
    assert run.run_id and run.request_sent_at and run.deadline_at and run.next_check_at
    assert run.session_id == run.idempotency_key  # our session id: how a lost run is found

    assert follow_until_done(run.pk) == RunStatus.SUCCESS
    run.refresh_from_db()
    assert run.output["content"] == "finally"
    assert run.checks >= 1 and run.import_status == "done"
    assert submits(agentos, run) == 1


def test_a_lost_submit_answer_is_settled_by_asking_the_server_not_by_sending_again(
    agentos_target, agentos, fast_submit_timeout
):
    requests.post(
        agentos.url + "/test/faults", params={"slow_answers": 1, "slow_answer_s": 3}, timeout=5
    )
    run = queued_run(agentos_target)
    assert execute_run(run.pk) == "unknown"  # sent; the answer did not come in time
    run.refresh_from_db()
    assert (run.stage, run.run_id) == (RunStage.REATTACHING, "")

    assert follow_until_done(run.pk) == RunStatus.SUCCESS
    run.refresh_from_db()
    assert run.run_id and run.reattach_count >= 1
    assert "found run" in run.reattachments[-1]["note"]
    assert submits(agentos, run) == 1


def test_a_worker_that_died_after_sending_is_re_attached_never_re_sent(
    agentos_target, agentos, settings
):
    run = queued_run(agentos_target)
    # The worker sent the run and died before storing the run id: simulated by
    # submitting, then forgetting the answer and letting the lease run out.
    assert execute_run(run.pk) == "submitted"
    ScheduleRun.objects.filter(pk=run.pk).update(
        stage=RunStage.SUBMITTING,
        run_id="",
        next_check_at=None,
        worker="dead-worker",
        lease_expires_at=db_now() - timedelta(seconds=1),
    )
    assert reap_expired_leases() == [run.pk]
    run.refresh_from_db()
    assert (run.status, run.stage) == (RunStatus.RUNNING, RunStage.REATTACHING)

    assert follow_until_done(run.pk) == RunStatus.SUCCESS
    assert submits(agentos, run) == 1


def test_a_worker_that_died_before_sending_puts_the_run_back_in_the_queue(agentos_target, agentos):
    run = queued_run(agentos_target)
    ScheduleRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING,
        stage=RunStage.SUBMITTING,
        worker="dead",
        started_at=db_now(),
        lease_expires_at=db_now() - timedelta(seconds=1),
    )
    assert reap_expired_leases() == [run.pk]
    run.refresh_from_db()
    assert (run.status, run.attempt, run.dispatched_at) == (RunStatus.QUEUED, 1, None)
    assert submits(agentos, run) == 0


def test_a_submit_the_server_never_received_is_sent_again_same_attempt_same_key(
    agentos_target, agentos
):
    run = queued_run(agentos_target)
    long_ago = db_now() - timedelta(minutes=5)
    ScheduleRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING,
        stage=RunStage.REATTACHING,
        started_at=long_ago,
        request_sent_at=long_ago,
        deadline_at=db_now() + timedelta(minutes=5),
        session_id=run.idempotency_key,
        next_check_at=db_now(),
    )
    assert follow_until_done(run.pk) == RunStatus.QUEUED  # nothing on the server: queued again
    run.refresh_from_db()
    assert (run.attempt, run.reattach_count) == (1, 1)
    assert execute_run(run.pk) == "submitted"
    assert follow_until_done(run.pk) == RunStatus.SUCCESS
    assert submits(agentos, run) == 1


def test_the_deadline_is_wall_clock_and_the_run_is_cancelled_on_the_server(agentos_target, agentos):
    run = queued_run(agentos_target, timeout_s=1, max_retries=1)
    assert execute_run(run.pk) == "submitted"
    assert follow_until_done(run.pk) == RunStatus.TIMEOUT
    run.refresh_from_db()
    assert "cancelled on the server" in run.error
    assert cancels(agentos, run) == 1
    assert run.retries.count() == 1  # a timeout is retried by policy, as a new attempt


def test_cancelling_a_running_run_cancels_it_on_the_server(agentos_target, agentos, operator):
    run = queued_run(agentos_target)
    execute_run(run.pk)
    run = cancel_run(ScheduleRun.objects.get(pk=run.pk), user=operator)
    assert (run.status, run.stage) == (RunStatus.RUNNING, RunStage.CANCELLING)
    assert follow_until_done(run.pk) == RunStatus.CANCELLED
    run.refresh_from_db()
    assert run.cancelled_by == operator and run.error == f"Cancelled by {operator.username}"
    assert cancels(agentos, run) == 1 and submits(agentos, run) == 1
    assert not run.retries.exists()
    with pytest.raises(RunNotCancellable):
        cancel_run(run)


def test_a_cancelled_queued_run_is_never_sent(agentos_target, agentos):
    run = queued_run(agentos_target)
    cancel_run(run)
    assert execute_run(run.pk) == "duplicate"
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert submits(agentos, run) == 0


def test_runs_beyond_a_targets_max_in_flight_wait_queued(agentos_target, agentos):
    Target.objects.filter(pk=agentos_target.pk).update(max_in_flight=1)
    first, second = queued_run(agentos_target), queued_run(agentos_target)
    assert execute_run(first.pk) == "submitted"
    assert execute_run(second.pk) == "held"
    second.refresh_from_db()
    assert (second.status, second.dispatched_at) == (RunStatus.QUEUED, None)
    assert second.not_before > db_now() - timedelta(seconds=1)
    assert follow_until_done(first.pk) == RunStatus.SUCCESS
    assert execute_run(second.pk) == "submitted"
    assert follow_until_done(second.pk) == RunStatus.SUCCESS


def test_a_run_queued_before_an_edit_sends_what_was_queued(agentos_target, agentos):
    run = queued_run(agentos_target, workflow="digest")
    operations.update_schedule(run.schedule, {"endpoint": "/workflows/broken/runs"})
    assert execute_run(run.pk) == "submitted"
    assert follow_until_done(run.pk) == RunStatus.SUCCESS
    run.refresh_from_db()
    assert run.output["content"].startswith("draft from")


def test_one_run_is_checked_by_one_follower_at_a_time(agentos_target, agentos):
    run = queued_run(agentos_target)
    execute_run(run.pk)
    now = db_now() + timedelta(seconds=5)
    assert claim_due("follower-a", now, 10) == [run.pk]
    assert claim_due("follower-b", now, 10) == []  # the check lease holds it
    assert step(run.pk, "follower-b") == "taken over"


def test_outcome_writes_wait_out_a_database_blip_but_not_a_refused_value():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("server closed the connection unexpectedly")
        return "landed"

    assert until_it_lands(flaky, "test") == "landed" and len(calls) == 3
    with pytest.raises(DataError):
        until_it_lands(lambda: (_ for _ in ()).throw(DataError("bad value")), "test")


def test_a_batch_of_runs_is_claimed_sent_and_stored_together(agentos_target, agentos):
    from scheduler_admin.engine.execution import execute_runs

    Target.objects.filter(pk=agentos_target.pk).update(max_in_flight=3)
    runs = [queued_run(agentos_target) for _ in range(4)]
    done_already = runs[0]
    cancel_run(done_already)
    results = execute_runs([r.pk for r in runs])
    assert results[done_already.pk] == "duplicate"
    assert [results[r.pk] for r in runs[1:]] == ["submitted"] * 3
    again = execute_runs([r.pk for r in runs[1:]])  # a second delivery does nothing
    assert set(again.values()) == {"duplicate"}
    for run in runs[1:]:
        assert follow_until_done(run.pk) == RunStatus.SUCCESS
        assert submits(agentos, run) == 1


def test_a_batch_beyond_the_targets_room_leaves_the_rest_waiting(agentos_target, agentos):
    from scheduler_admin.engine.execution import execute_runs

    Target.objects.filter(pk=agentos_target.pk).update(max_in_flight=1)
    first, second = queued_run(agentos_target), queued_run(agentos_target)
    results = execute_runs([first.pk, second.pk])
    assert sorted(results.values()) == ["held", "submitted"]
    waiting = ScheduleRun.objects.get(status=RunStatus.QUEUED)
    assert waiting.dispatched_at is None and submits(agentos, waiting) == 0


def test_a_run_written_ahead_of_its_time_reaches_the_agent_server_at_its_time(
    agentos_target, agentos, settings
):
    from scheduler_admin.engine.execution import execute_runs
    from scheduler_admin.engine.firing import fire_due
    from scheduler_admin.models import Schedule

    settings.SCHEDULER = {**settings.SCHEDULER, "FIRE_AHEAD_S": 2.0}
    schedule = make_schedule(
        target=agentos_target,
        endpoint="/workflows/slow/runs",
        payload={"message": "go"},
        cron_expr="* * * * *",
    )
    Schedule.objects.filter(pk=schedule.pk).update(next_run_at=db_now() + timedelta(seconds=1.5))
    [pk] = fire_due(db_now())  # written 1.5 s early
    assert execute_runs([pk]) == {pk: "submitted"}
    run = ScheduleRun.objects.get(pk=pk)
    arrived = requests.get(agentos.url + "/test/arrivals", timeout=5).json()[run.idempotency_key]
    # The server's own clock: the submit arrived at the scheduled time, not before it.
    assert 0 <= arrived - run.scheduled_for.timestamp() < 1.0
    assert run.request_sent_at >= run.scheduled_for
    assert follow_until_done(run.pk) == RunStatus.SUCCESS
    assert submits(agentos, run) == 1


def test_a_run_that_ended_by_its_deadline_is_recorded_as_it_ended_not_as_timed_out(
    agentos_target, agentos
):
    import time

    run = queued_run(agentos_target)
    assert execute_run(run.pk) == "submitted"
    run.refresh_from_db()
    path = f"/workflows/slow/runs/{run.run_id}"
    for _ in range(100):  # the server finishes it; we have not looked yet
        body = requests.get(agentos.url + path, params={"session_id": run.session_id}, timeout=5)
        if body.json().get("status") == "COMPLETED":
            break
        time.sleep(0.1)
    # The follower first looks at it only at (after) its deadline.
    ScheduleRun.objects.filter(pk=run.pk).update(deadline_at=db_now() - timedelta(seconds=1))
    assert follow_until_done(run.pk) == RunStatus.SUCCESS
    assert cancels(agentos, run) == 0 and submits(agentos, run) == 1
