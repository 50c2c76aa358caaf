"""A follower pass records its plain successes together, on the same conditions as one
by one: only runs still running, still its own, not being cancelled."""

from datetime import UTC, datetime, timedelta

import pytest

from agentos_bridge.outcome import Outcome
from scheduler_admin.engine import follow
from scheduler_admin.engine.batch_outcomes import record_successes
from scheduler_admin.models import ImportStatus, RunStage, RunStatus, Schedule, ScheduleRun
from tests.factories import make_run, make_schedule

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def followed(schedule, minute: int, follower: str = "f1", **fields) -> ScheduleRun:
    return make_run(
        schedule,
        scheduled_for=T0 + timedelta(minutes=minute),
        status=RunStatus.RUNNING,
        stage=fields.pop("stage", RunStage.FOLLOWING),
        follower=follower,
        run_id=f"agno-{minute}",
        session_id=f"session-{minute}",
        started_at=T0,
        request_sent_at=T0,
        **fields,
    )


def success(run: ScheduleRun) -> Outcome:
    return Outcome(status="success", status_code=200, output={"content": f"done {run.run_id}"})


def test_successes_are_closed_together_and_their_imports_are_due():
    schedule = make_schedule()
    runs = [followed(schedule, minute) for minute in range(3)]
    closed = record_successes([(run, success(run)) for run in runs], follower="f1")
    assert closed == {run.pk for run in runs}
    for run in ScheduleRun.objects.filter(pk__in=closed):
        assert (run.status, run.stage, run.output) == (
            RunStatus.SUCCESS,
            RunStage.NONE,
            {"content": f"done {run.run_id}"},
        )
        assert run.completed_at and run.duration_ms is not None
        assert run.import_status == ImportStatus.PENDING and run.next_check_at is not None


def test_runs_taken_over_or_being_cancelled_are_left_for_the_one_by_one_path():
    schedule = make_schedule()
    mine = followed(schedule, 0)
    other = followed(schedule, 1, follower="f2")
    cancelling = followed(schedule, 2, stage=RunStage.CANCELLING)
    items = [(run, success(run)) for run in (mine, other, cancelling)]
    assert record_successes(items, follower="f1") == {mine.pk}
    other.refresh_from_db()
    cancelling.refresh_from_db()
    assert other.status == cancelling.status == RunStatus.RUNNING


def test_a_success_resets_the_failure_count_of_a_failing_schedule():
    schedule = make_schedule()
    Schedule.objects.filter(pk=schedule.pk).update(consecutive_failures=2)
    run = followed(schedule, 0)
    run.schedule.refresh_from_db()
    record_successes([(run, success(run))], follower="f1")
    schedule.refresh_from_db()
    assert schedule.consecutive_failures == 0


def test_a_follower_pass_writes_its_successes_and_other_outcomes_in_one_flush():
    schedule = make_schedule()
    ok, failed = followed(schedule, 0), followed(schedule, 1)
    deferred = follow.Deferred("f1")
    follow._deferred = deferred
    try:
        follow._close(ok, "f1", success(ok))
        follow._close(failed, "f1", Outcome.failure("boom", retryable=False))
        # Nothing is written before the pass flushes.
        assert ScheduleRun.objects.filter(status=RunStatus.RUNNING).count() == 2
        deferred.flush()
    finally:
        follow._deferred = None
    ok.refresh_from_db()
    failed.refresh_from_db()
    assert (ok.status, failed.status, failed.error) == (
        RunStatus.SUCCESS,
        RunStatus.FAILED,
        "boom",
    )


@pytest.mark.django_db(transaction=True)  # the pass owns its transaction, as in a follower
def test_a_database_blip_in_a_pass_retries_the_whole_pass_so_nothing_is_lost():
    from django.db import OperationalError

    schedule = make_schedule()
    first, second = followed(schedule, 0), followed(schedule, 1)
    deferred = follow.Deferred("f1")
    blips = [OperationalError("server closed the connection unexpectedly")]

    def flaky_write():
        if blips:
            raise blips.pop()  # inside the pass's transaction: it is retried whole
        ScheduleRun.objects.filter(pk=second.pk).update(checks=7)

    deferred.add_success(first, success(first))
    deferred.add("run 2: next check", flaky_write)
    deferred.flush()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == RunStatus.SUCCESS and second.checks == 7


def test_a_blip_inside_a_transaction_is_raised_to_the_caller_that_owns_it():
    from django.db import OperationalError, transaction

    from scheduler_admin.engine.db_retry import until_it_lands

    tries = []

    def write():
        tries.append(1)
        raise OperationalError("database is locked")

    with pytest.raises(OperationalError), transaction.atomic():
        until_it_lands(write, "a write in a transaction")
    assert len(tries) == 1  # not retried inside a transaction it cannot repair
