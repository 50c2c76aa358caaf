"""The loop never stops: a broken schedule, a broker outage or a crash between commit
and handover leave the rest of the tick (and the next ticks) working."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
import redis
from django.db import connection

from scheduler_admin.engine import dispatch as dispatch_module
from scheduler_admin.engine import firing
from scheduler_admin.engine.dispatch import dispatch_ready
from scheduler_admin.engine.firing import fire_due
from scheduler_admin.engine.loop import FAULTS, next_delay, tick
from scheduler_admin.models import AuditEntry, RunStatus, Schedule, ScheduleRun
from tests.factories import make_run, make_schedule

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def due(**overrides) -> Schedule:
    schedule = make_schedule(cron_expr="*/5 * * * *", **overrides)
    Schedule.objects.filter(pk=schedule.pk).update(next_run_at=T0)
    return schedule


@pytest.fixture
def sent(monkeypatch):
    """What reached the broker (dispatch is 'manual' in tests: record instead)."""
    calls: list[int] = []
    monkeypatch.setattr(dispatch_module, "dispatch", lambda pks: calls.extend(pks))
    return calls


def test_a_schedule_whose_timezone_no_longer_loads_is_paused_and_the_rest_fire(sent):
    with pytest.raises(ZoneInfoNotFoundError):
        ZoneInfo("US/Pacific-New")  # dropped from tzdata in 2020
    broken, healthy = due(), due()
    Schedule.objects.filter(pk=broken.pk).update(timezone="US/Pacific-New")

    counts = tick(T0 + timedelta(seconds=1))

    assert counts["fired"] == 1
    assert ScheduleRun.objects.get().schedule_id == healthy.pk
    broken.refresh_from_db()
    assert (broken.enabled, broken.next_run_at) == (False, None)
    assert "could not be planned" in broken.paused_reason
    assert "US/Pacific-New" in broken.paused_reason
    assert AuditEntry.objects.get(action="paused").schedule_id == broken.pk


def test_a_broker_outage_is_counted_the_other_steps_run_and_runs_go_when_it_is_back(
    monkeypatch, caplog
):
    due()
    lost = make_run(
        make_schedule(), status=RunStatus.RUNNING, worker="w", lease_expires_at=T0, started_at=T0
    )

    def broker_down(pks):
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(dispatch_module, "dispatch", broker_down)
    before = FAULTS["fired"]
    counts = tick(T0 + timedelta(seconds=1))

    assert counts["fired_failed"] == 1 and FAULTS["fired"] == before + 1
    assert counts["reaped"] == 1  # reaping still ran in the same tick
    assert ScheduleRun.objects.get(pk=lost.pk).status == RunStatus.FAILED
    queued = ScheduleRun.objects.get(status=RunStatus.QUEUED)
    assert queued.dispatched_at is None  # committed, not marked as sent
    assert "scheduler step 'fired' failed" in caplog.text

    sent: list[int] = []
    monkeypatch.setattr(dispatch_module, "dispatch", lambda pks: sent.extend(pks))
    counts = tick(T0 + timedelta(seconds=3))  # the broker is back
    assert sent == [queued.pk]
    assert ScheduleRun.objects.get(pk=queued.pk).dispatched_at is not None
    assert "scheduler step 'fired' recovered" in caplog.text


def test_runs_of_a_scheduler_killed_between_commit_and_handover_are_sent_within_seconds(
    monkeypatch, sent
):
    due(overlap_policy="skip")
    # The process dies right after the commit: nothing reaches the broker.
    monkeypatch.setattr(firing, "hand_over", lambda pks, now: [])
    fire_due(T0 + timedelta(seconds=1))
    run = ScheduleRun.objects.get()
    assert (run.status, run.dispatched_at) == (RunStatus.QUEUED, None)

    # Another scheduler (or this one restarted) picks it up on a tick 2 s later.
    assert dispatch_ready(T0 + timedelta(seconds=3)) == [run.pk]
    assert sent == [run.pk]


def test_planning_happens_outside_the_write_transaction(monkeypatch, sent):
    due(catch_up_policy="all")
    depths = []
    real = firing.plan_firing

    def plan(**kwargs):
        depths.append(len(connection.atomic_blocks))
        return real(**kwargs)

    monkeypatch.setattr(firing, "plan_firing", plan)
    outside = len(connection.atomic_blocks)  # the test's own transaction
    fire_due(T0 + timedelta(days=7))
    assert depths == [outside]


def test_a_schedule_changed_between_planning_and_claim_is_planned_again(monkeypatch, sent):
    schedule = due()
    real = firing.plan_firing

    def plan_then_edit(**kwargs):
        plan = real(**kwargs)
        # An edit lands after the plan was made: the plan is stale.
        Schedule.objects.filter(pk=schedule.pk).update(cron_expr="*/10 * * * *")
        return plan

    monkeypatch.setattr(firing, "plan_firing", plan_then_edit)
    assert fire_due(T0 + timedelta(seconds=1)) == []
    monkeypatch.setattr(firing, "plan_firing", real)
    assert len(fire_due(T0 + timedelta(seconds=1))) == 1
    assert Schedule.objects.get(pk=schedule.pk).next_run_at == T0 + timedelta(minutes=10)


def test_rows_still_due_after_a_tick_are_retried_with_a_growing_wait():
    assert next_delay(0.4, 0, poll_s=1.0) == 0.4
    waits = [next_delay(0.0, streak, poll_s=1.0) for streak in range(1, 9)]
    assert waits[0] >= 0.02
    assert waits == sorted(waits) and waits[-1] == 1.0


def test_a_broker_error_in_dispatch_ready_leaves_the_runs_undispatched(settings, monkeypatch):
    settings.SCHEDULER = {**settings.SCHEDULER, "DISPATCH": "django_q"}
    run = make_run(make_schedule(), queued_at=T0, not_before=T0)

    def broker_down(pks):
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(dispatch_module, "dispatch", broker_down)
    with pytest.raises(redis.ConnectionError):
        dispatch_ready(T0 + timedelta(seconds=5))
    assert ScheduleRun.objects.get(pk=run.pk).dispatched_at is None  # tried again next tick
