"""Every policy exactly as written: overlap, buffer order, catch-up 'none' on time,
manual triggers beside cron times, enabling twice, worker-lost rows."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from scheduler_admin.engine import dispatch as dispatch_module
from scheduler_admin.engine.dispatch import dispatch_ready
from scheduler_admin.engine.firing import fire_due
from scheduler_admin.engine.operations import set_enabled, trigger_now
from scheduler_admin.engine.planning import plan_firing
from scheduler_admin.engine.recovery import reap_expired_leases
from scheduler_admin.models import AuditEntry, RunStatus, Schedule, ScheduleRun, Trigger
from tests.factories import make_run, make_schedule

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def due(at=T0, **overrides) -> Schedule:
    schedule = make_schedule(cron_expr="*/5 * * * *", **overrides)
    Schedule.objects.filter(pk=schedule.pk).update(next_run_at=at)
    schedule.refresh_from_db()
    return schedule


@pytest.fixture
def sent(monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(dispatch_module, "dispatch", lambda pks: calls.extend(pks))
    return calls


def test_catch_up_none_fires_the_latest_time_when_it_is_on_time():
    plan = plan_firing(
        cron_expr="*/5 * * * *",
        tz_name="UTC",
        due_at=T0,
        now=T0 + timedelta(hours=1, seconds=1),  # a stall ended a second after 13:00
        policy="none",
        window_s=86400,
        max_runs=100,
        late_after_s=60,
    )
    assert plan.fire == [T0 + timedelta(hours=1)] and plan.skip is None
    assert plan.missed == 12 and not plan.late


def test_catch_up_none_on_time_latest_runs_as_a_scheduled_run(sent):
    due(catch_up_policy="none")
    [pk] = fire_due(T0 + timedelta(hours=1, seconds=1))
    run = ScheduleRun.objects.get(pk=pk)
    assert (run.scheduled_for, run.trigger, run.missed_count) == (
        T0 + timedelta(hours=1),
        Trigger.SCHEDULE,
        12,
    )


def test_a_retry_waiting_out_its_delay_does_not_make_overlap_skip_skip(sent):
    schedule = due(overlap_policy="skip")
    make_run(
        schedule,
        scheduled_for=T0 - timedelta(minutes=5),
        attempt=2,
        trigger=Trigger.RETRY,
        not_before=T0 + timedelta(days=1),  # Retry-After: a day
    )
    [pk] = fire_due(T0 + timedelta(seconds=1))
    assert ScheduleRun.objects.get(pk=pk).status == RunStatus.QUEUED


def test_a_retry_whose_time_has_come_still_counts_as_in_progress(sent):
    schedule = due(overlap_policy="skip")
    make_run(schedule, scheduled_for=T0 - timedelta(minutes=5), attempt=2, not_before=T0)
    assert fire_due(T0 + timedelta(seconds=1)) == []
    assert ScheduleRun.objects.get(scheduled_for=T0).status == RunStatus.SKIPPED


def test_buffer_one_runs_the_buffered_time_before_a_newer_one(sent):
    schedule = due(overlap_policy="buffer_one")
    held = make_run(
        schedule,
        scheduled_for=T0 - timedelta(minutes=5),
        held_for_overlap=True,
        not_before=T0 - timedelta(minutes=5),
    )
    # The running run has just ended; the next cron time comes before any dispatch.
    fire_due(T0 + timedelta(seconds=1))
    newer = ScheduleRun.objects.get(scheduled_for=T0)
    assert sent == [held.pk]  # the older one goes first
    assert (newer.status, newer.held_for_overlap, newer.dispatched_at) == (
        RunStatus.QUEUED,
        True,
        None,
    )
    assert dispatch_ready(T0 + timedelta(seconds=3)) == []  # held while the older runs


def test_buffer_one_release_rechecks_in_sql_that_nothing_else_is_in_progress(sent):
    schedule = make_schedule(overlap_policy="buffer_one")
    held = make_run(schedule, scheduled_for=T0, held_for_overlap=True, not_before=T0)
    done = []

    def another_scheduler_starts_a_run(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not done and sql.startswith("SELECT") and "held_for_overlap" in sql:
            # Committed by someone else between our SELECT and our release.
            done.append(1)
            make_run(schedule, scheduled_for=T0 + timedelta(minutes=5), status="running")
        return result

    with connection.execute_wrapper(another_scheduler_starts_a_run):
        released = dispatch_ready(T0 + timedelta(seconds=5))
    assert done and released == []
    assert ScheduleRun.objects.get(pk=held.pk).held_for_overlap


@time_machine.travel(T0, tick=False)
def test_a_manual_trigger_at_a_cron_instant_neither_fails_nor_drops_the_cron_firing(sent):
    schedule = due(at=T0, overlap_policy="allow")
    first, second = trigger_now(schedule), trigger_now(schedule)
    assert first.scheduled_for != T0 and second.scheduled_for != first.scheduled_for
    [fired] = fire_due(T0)
    assert ScheduleRun.objects.get(pk=fired).scheduled_for == T0
    assert ScheduleRun.objects.filter(trigger=Trigger.MANUAL).count() == 2


def test_enabling_an_enabled_schedule_changes_nothing():
    schedule = due(at=T0)  # due, with a backlog since T0
    assert set_enabled(schedule, True) is False
    fresh = Schedule.objects.get(pk=schedule.pk)
    assert (fresh.enabled, fresh.next_run_at) == (True, T0)
    assert not AuditEntry.objects.filter(action="enabled").exists()


def test_enabling_a_disabled_schedule_starts_it_from_now():
    schedule = due(at=T0)
    set_enabled(schedule, False)
    assert set_enabled(Schedule.objects.get(pk=schedule.pk), True) is True
    fresh = Schedule.objects.get(pk=schedule.pk)
    assert fresh.enabled and fresh.next_run_at > datetime.now(UTC)


def test_a_worker_lost_run_keeps_its_request_time_and_agent_run_id():
    run = make_run(
        make_schedule(),
        status=RunStatus.RUNNING,
        worker="host:1:2",
        started_at=T0,
        lease_expires_at=T0 + timedelta(seconds=30),
        request_sent_at=T0 + timedelta(seconds=1),
        run_id="agno-run-42",
    )
    assert reap_expired_leases(T0 + timedelta(minutes=1)) == [run.pk]
    run.refresh_from_db()
    assert (run.status, run.request_sent_at, run.run_id) == (
        RunStatus.FAILED,
        T0 + timedelta(seconds=1),
        "agno-run-42",
    )
    assert "request had been sent" in run.error and "agno-run-42" in run.error
