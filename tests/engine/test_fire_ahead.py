"""Firing ahead: due runs are written and handed over FIRE_AHEAD_S before their time,
and leave at their time, by the database's clock, never before."""

from datetime import timedelta

import pytest

from scheduler_admin.engine.clock import db_now
from scheduler_admin.engine.dispatch import MAX_RUNS_PER_TASK, RUNS_PER_TASK, task_size
from scheduler_admin.engine.execution import execute_runs
from scheduler_admin.engine.firing import fire_due
from scheduler_admin.engine.loop import seconds_until_next_wake
from scheduler_admin.models import RunStatus, Schedule, ScheduleRun
from tests.factories import make_schedule

pytestmark = pytest.mark.django_db


@pytest.fixture
def ahead(settings):
    settings.SCHEDULER = {**settings.SCHEDULER, "FIRE_AHEAD_S": 2.0}


def schedule_due_in(seconds: float, **fields) -> Schedule:
    schedule = make_schedule(cron_expr="* * * * *", **fields)
    due = db_now() + timedelta(seconds=seconds)
    Schedule.objects.filter(pk=schedule.pk).update(next_run_at=due)
    schedule.refresh_from_db()
    return schedule


def test_a_time_due_within_the_lead_is_written_ahead_and_may_not_leave_before_it(ahead):
    schedule = schedule_due_in(1.5)
    due = schedule.next_run_at
    [pk] = fire_due(db_now())
    run = ScheduleRun.objects.get(pk=pk)
    assert (run.status, run.scheduled_for) == (RunStatus.QUEUED, due)
    # Should the handover be lost, dispatch_ready sends it at its time, not now.
    assert run.not_before == due
    schedule.refresh_from_db()
    assert schedule.next_run_at > due  # the time is taken: it is not written twice
    assert fire_due(db_now()) == []


def test_a_time_beyond_the_lead_is_not_written_yet(ahead):
    schedule_due_in(5)
    assert fire_due(db_now()) == []


def test_the_scheduler_wakes_the_lead_before_the_next_due_time(ahead):
    schedule_due_in(10)
    wait = seconds_until_next_wake(db_now(), poll_s=60)
    assert 7.5 < wait <= 8.0


@pytest.mark.django_db(transaction=True)  # the run starts in a thread of its own
def test_a_worker_given_a_run_early_starts_it_at_its_time_by_the_database_clock(ahead):
    schedule_due_in(1.2, endpoint="/noop")  # the local runtime: a plain one-run start
    [pk] = fire_due(db_now())
    assert execute_runs([pk]) == {pk: RunStatus.SUCCESS}
    run = ScheduleRun.objects.get(pk=pk)
    assert run.started_at >= run.scheduled_for
    assert run.request_sent_at >= run.scheduled_for
    assert (run.started_at - run.scheduled_for).total_seconds() < 1.0


def test_fire_ahead_zero_writes_only_what_is_due():
    schedule_due_in(0.5)
    assert fire_due(db_now()) == []


def test_a_burst_is_split_into_one_task_per_worker(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "workers": 4}
    assert task_size(1000) == MAX_RUNS_PER_TASK  # 4 tasks of 250
    assert task_size(400) == 100
    assert task_size(30) == RUNS_PER_TASK  # small bursts: tasks of 20
    assert task_size(5000) == MAX_RUNS_PER_TASK
