"""Firing: claim due schedules, one queued run per scheduled time, advance from the
scheduled time, overlap and catch-up policies."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from scheduler_admin.engine.firing import fire_due
from scheduler_admin.engine.loop import seconds_until_next_wake
from scheduler_admin.models import RunStatus, Schedule, ScheduleRun, Trigger
from tests.factories import make_run, make_schedule

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def due_schedule(at=T0, **overrides) -> Schedule:
    schedule = make_schedule(cron_expr="*/5 * * * *", **overrides)
    Schedule.objects.filter(pk=schedule.pk).update(next_run_at=at)
    schedule.refresh_from_db()
    return schedule


def test_due_schedule_gets_one_queued_run_for_its_exact_scheduled_time():
    schedule = due_schedule()
    fired = fire_due(T0 + timedelta(milliseconds=300))
    run = ScheduleRun.objects.get(pk__in=fired)
    assert (run.schedule, run.scheduled_for, run.attempt) == (schedule, T0, 1)
    assert run.status == RunStatus.QUEUED and run.trigger == Trigger.SCHEDULE
    assert run.dispatched_at is not None


def test_next_run_time_advances_from_the_scheduled_time_not_from_now():
    schedule = due_schedule()
    fire_due(T0 + timedelta(minutes=2))  # a late scheduler
    schedule.refresh_from_db()
    assert schedule.next_run_at == T0 + timedelta(minutes=5)


def test_firing_twice_for_the_same_moment_creates_one_run():
    due_schedule()
    now = T0 + timedelta(seconds=1)
    assert len(fire_due(now)) == 1
    assert fire_due(now) == []
    assert ScheduleRun.objects.count() == 1


def test_disabled_and_not_yet_due_schedules_do_not_fire():
    due_schedule(enabled=False)
    due_schedule(at=T0 + timedelta(seconds=2))
    assert fire_due(T0 + timedelta(seconds=1)) == []


def test_unique_constraint_refuses_a_second_run_for_one_time_and_attempt():
    schedule = due_schedule()
    make_run(schedule, scheduled_for=T0)
    with pytest.raises(IntegrityError):
        make_run(schedule, scheduled_for=T0)


def test_overlap_skip_records_the_due_time_as_skipped_with_the_reason():
    schedule = due_schedule(overlap_policy="skip")
    make_run(schedule, scheduled_for=T0 - timedelta(minutes=5), status=RunStatus.RUNNING)
    assert fire_due(T0) == []
    skipped = ScheduleRun.objects.get(scheduled_for=T0)
    assert skipped.status == RunStatus.SKIPPED
    assert "still in progress" in skipped.error


def test_overlap_allow_fires_beside_the_running_run():
    schedule = due_schedule(overlap_policy="allow")
    make_run(schedule, scheduled_for=T0 - timedelta(minutes=5), status=RunStatus.RUNNING)
    assert len(fire_due(T0)) == 1


def test_overlap_buffer_one_holds_one_run_and_skips_the_next():
    schedule = due_schedule(overlap_policy="buffer_one")
    running = make_run(schedule, scheduled_for=T0 - timedelta(minutes=5), status=RunStatus.RUNNING)
    fire_due(T0)
    held = ScheduleRun.objects.get(scheduled_for=T0)
    assert held.status == RunStatus.QUEUED and held.held_for_overlap
    fire_due(T0 + timedelta(minutes=5))
    assert ScheduleRun.objects.get(scheduled_for=T0 + timedelta(minutes=5)).status == "skipped"

    from scheduler_admin.engine.dispatch import dispatch_ready

    assert dispatch_ready(T0 + timedelta(minutes=6)) == []  # still running: stays held
    ScheduleRun.objects.filter(pk=running.pk).update(status=RunStatus.SUCCESS)
    assert dispatch_ready(T0 + timedelta(minutes=6)) == [held.pk]


def test_catch_up_latest_fires_once_and_records_how_many_were_missed():
    schedule = due_schedule(catch_up_policy="latest")
    fired = fire_due(T0 + timedelta(hours=1, seconds=1))
    run = ScheduleRun.objects.get(pk__in=fired)
    assert run.trigger == Trigger.CATCH_UP
    assert run.scheduled_for == T0 + timedelta(hours=1)
    assert run.missed_count == 12  # 13 due times, one run
    schedule.refresh_from_db()
    assert schedule.next_run_at == T0 + timedelta(hours=1, minutes=5)


def test_catch_up_none_fires_nothing_and_records_the_missed_times():
    due_schedule(catch_up_policy="none")
    # The latest due time (13:00) is two minutes old too: nothing is on time.
    assert fire_due(T0 + timedelta(hours=1, minutes=2)) == []
    skipped = ScheduleRun.objects.get()
    assert skipped.status == RunStatus.SKIPPED and skipped.missed_count == 13
    assert "catch-up policy is 'none'" in skipped.error


def test_catch_up_all_fires_every_missed_time_within_the_window(settings):
    settings.SCHEDULER = {**settings.SCHEDULER, "CATCH_UP_WINDOW_S": 1801}
    due_schedule(catch_up_policy="all")
    fired = fire_due(T0 + timedelta(hours=1, seconds=1))
    times = sorted(ScheduleRun.objects.filter(pk__in=fired).values_list("scheduled_for", flat=True))
    assert times[0] == T0 + timedelta(minutes=30) and times[-1] == T0 + timedelta(hours=1)
    assert len(times) == 7
    assert ScheduleRun.objects.get(scheduled_for=times[-1]).missed_count == 6


def test_on_time_firing_with_a_small_delay_is_not_a_catch_up():
    due_schedule(catch_up_policy="none")
    fired = fire_due(T0 + timedelta(seconds=3))
    assert ScheduleRun.objects.get(pk__in=fired).trigger == Trigger.SCHEDULE


def test_scheduler_sleeps_until_the_earliest_due_time_but_no_longer_than_the_poll():
    due_schedule(at=T0 + timedelta(milliseconds=400))
    assert seconds_until_next_wake(T0, poll_s=1.0) == pytest.approx(0.4)
    assert seconds_until_next_wake(T0 - timedelta(seconds=10), poll_s=1.0) == 1.0


def test_claim_query_uses_the_due_index():
    from django.db import connection

    due_schedule()
    sql, params = Schedule.objects.due(T0).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "schedule_due_idx" in plan


@pytest.mark.parametrize("count", [5, 50])
def test_due_schedules_fire_in_a_number_of_queries_that_does_not_grow(
    count, django_assert_max_num_queries
):
    for _ in range(count):
        due_schedule()
    # SQLite splits the bulk INSERT by its bound-parameter limit: 50 runs are 3 INSERTs.
    with django_assert_max_num_queries(13):
        assert len(fire_due(T0 + timedelta(seconds=1))) == count


def test_a_buffered_run_executes_once_the_running_one_ends(settings):
    from agentos_bridge.outcome import Outcome
    from scheduler_admin.engine.dispatch import dispatch_ready
    from scheduler_admin.engine.execution import claim_run
    from scheduler_admin.engine.outcomes import record_outcome

    schedule = due_schedule(overlap_policy="buffer_one")
    [first] = fire_due(T0)
    assert claim_run(first, "w", T0)  # a worker has it in flight
    schedule.refresh_from_db()
    fire_due(schedule.next_run_at)
    held = ScheduleRun.objects.get(held_for_overlap=True)

    settings.SCHEDULER = {**settings.SCHEDULER, "DISPATCH": "inline"}
    record_outcome(ScheduleRun.objects.get(pk=first), Outcome(status="success"), worker="w")
    assert dispatch_ready(timezone.now()) == [held.pk]
    held.refresh_from_db()
    assert (held.status, held.held_for_overlap) == (RunStatus.SUCCESS, False)
