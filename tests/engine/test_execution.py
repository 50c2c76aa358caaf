"""Executing a run: conditional claim, outcomes, retries as rows, leases, pause."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from agentos_bridge.outcome import Outcome
from scheduler_admin.engine.execution import claim_run, execute_run
from scheduler_admin.engine.outcomes import record_outcome, retry_delay_s
from scheduler_admin.engine.recovery import reap_expired_leases
from scheduler_admin.models import RunStatus, Schedule, ScheduleRun, Trigger
from tests.factories import make_run, make_schedule

pytestmark = pytest.mark.django_db


def test_a_queued_run_executes_and_records_success_with_timings():
    run = make_run(make_schedule(endpoint="/echo", payload={"message": "hi"}))
    assert execute_run(run.pk) == "success"
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCESS and run.status_code == 200
    assert run.output == {"message": "hi"}
    assert run.started_at <= run.request_sent_at <= run.completed_at
    assert run.duration_ms is not None and run.lease_expires_at is None


def test_a_duplicate_delivery_does_nothing():
    run = make_run(make_schedule())
    assert execute_run(run.pk) == "success"
    completed_at = ScheduleRun.objects.get(pk=run.pk).completed_at
    assert execute_run(run.pk) == "duplicate"
    assert ScheduleRun.objects.get(pk=run.pk).completed_at == completed_at


def test_only_one_of_two_workers_claims_a_run():
    run = make_run(make_schedule())
    now = timezone.now()
    assert claim_run(run.pk, "worker-a", now) is True
    assert claim_run(run.pk, "worker-b", now) is False
    assert ScheduleRun.objects.get(pk=run.pk).worker == "worker-a"


def test_every_request_carries_an_idempotency_key_per_schedule_time_and_attempt():
    schedule = make_schedule()
    first = make_run(schedule, scheduled_for=datetime(2026, 1, 1, tzinfo=UTC))
    second = make_run(schedule, scheduled_for=datetime(2026, 1, 1, tzinfo=UTC), attempt=2)
    assert first.idempotency_key == f"sched-{schedule.pk}-20260101T000000.000000Z-1"
    assert second.idempotency_key != first.idempotency_key


def running(schedule, **overrides) -> ScheduleRun:
    fields = {"status": RunStatus.RUNNING, "worker": "w", "started_at": timezone.now()}
    fields.update(overrides)
    return make_run(schedule, **fields)


def test_a_retryable_failure_creates_the_next_attempt_as_a_row_with_a_not_before_time():
    schedule = make_schedule(max_retries=2, retry_delay_s=10, retry_backoff=3)
    run = running(schedule)
    before = timezone.now()
    record_outcome(run, Outcome.failure("HTTP 503", retryable=True, status_code=503), worker="w")
    retry = ScheduleRun.objects.get(retry_of=run)
    assert (retry.attempt, retry.trigger, retry.status) == (2, Trigger.RETRY, RunStatus.QUEUED)
    assert retry.scheduled_for == run.scheduled_for and retry.dispatched_at is None
    assert (
        before + timedelta(seconds=9) <= retry.not_before <= timezone.now() + timedelta(seconds=11)
    )
    assert ScheduleRun.objects.get(pk=run.pk).status == RunStatus.FAILED


def test_retry_delay_grows_by_the_backoff_and_respects_retry_after():
    schedule = make_schedule(retry_delay_s=10, retry_backoff=2)
    assert 36 <= retry_delay_s(schedule, attempt=3) <= 44
    assert retry_delay_s(schedule, attempt=1, retry_after_s=120) == 120


def test_a_non_retryable_4xx_is_not_retried():
    schedule = make_schedule(max_retries=3)
    run = running(schedule)
    record_outcome(run, Outcome.failure("HTTP 404", retryable=False, status_code=404), worker="w")
    assert not ScheduleRun.objects.filter(retry_of=run).exists()


def test_retries_stop_after_max_retries():
    schedule = make_schedule(max_retries=1)
    run = running(schedule, attempt=2)
    record_outcome(run, Outcome.failure("boom", retryable=True), worker="w")
    assert not ScheduleRun.objects.filter(retry_of=run).exists()


def test_a_timeout_marks_the_run_timeout():
    schedule = make_schedule(endpoint="/sleep", payload={"seconds": 5}, timeout_s=1)
    run = make_run(schedule)
    assert execute_run(run.pk) == "timeout"
    assert ScheduleRun.objects.get(pk=run.pk).status == RunStatus.TIMEOUT


def test_a_run_whose_lease_expired_is_closed_as_worker_lost_and_retried():
    schedule = make_schedule(max_retries=1, retry_delay_s=1)
    past = timezone.now() - timedelta(seconds=5)
    run = running(schedule, lease_expires_at=past, worker="host:123:1")
    assert reap_expired_leases(timezone.now()) == [run.pk]
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.error.startswith("worker lost")
    assert ScheduleRun.objects.get(retry_of=run).attempt == 2


def test_a_live_lease_is_left_alone_however_long_the_run_takes():
    schedule = make_schedule()
    run = running(
        schedule,
        started_at=timezone.now() - timedelta(hours=2),
        lease_expires_at=timezone.now() + timedelta(seconds=20),
    )
    assert reap_expired_leases(timezone.now()) == []
    assert ScheduleRun.objects.get(pk=run.pk).status == RunStatus.RUNNING


def test_a_late_outcome_after_the_run_was_closed_does_not_overwrite_it():
    schedule = make_schedule()
    run = running(schedule, lease_expires_at=timezone.now() - timedelta(seconds=1))
    reap_expired_leases(timezone.now())
    assert record_outcome(run, Outcome(status="success"), worker="w") is False
    assert ScheduleRun.objects.get(pk=run.pk).status == RunStatus.FAILED


def test_pause_after_n_consecutive_failures_disables_the_schedule_with_a_reason():
    schedule = make_schedule(pause_after_failures=2)
    for i in range(2):
        run = running(schedule, scheduled_for=datetime(2026, 1, 1, i, tzinfo=UTC))
        record_outcome(run, Outcome.failure("agent down", retryable=False), worker="w")
    schedule.refresh_from_db()
    assert schedule.enabled is False
    assert (
        "2 consecutive failures" in schedule.paused_reason
        and "agent down" in schedule.paused_reason
    )


def test_a_success_resets_the_consecutive_failure_count():
    schedule = make_schedule(pause_after_failures=3)
    Schedule.objects.filter(pk=schedule.pk).update(consecutive_failures=2)
    record_outcome(running(schedule), Outcome(status="success"), worker="w")
    schedule.refresh_from_db()
    assert schedule.consecutive_failures == 0 and schedule.enabled


def test_an_unknown_local_endpoint_fails_without_retry():
    run = make_run(make_schedule(endpoint="/no-such-thing", max_retries=3))
    assert execute_run(run.pk) == "failed"
    run.refresh_from_db()
    assert run.status_code == 404 and "/no-such-thing" in run.error
    assert not ScheduleRun.objects.filter(retry_of=run).exists()


def test_a_paused_run_keeps_its_requirements_and_is_not_retried():
    schedule = make_schedule(max_retries=3)
    run = running(schedule)
    needs = [{"tool_name": "approve_payment"}]
    record_outcome(run, Outcome(status="paused", requirements=needs, run_id="r1"), worker="w")
    run.refresh_from_db()
    assert (run.status, run.requirements, run.run_id) == (RunStatus.PAUSED, needs, "r1")
    assert not ScheduleRun.objects.filter(retry_of=run).exists()
