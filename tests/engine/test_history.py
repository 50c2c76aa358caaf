"""The tick does not slow down with history: missed times counted, not walked;
redispatch by due time in SQL; retention; every tick query on an index (SQLite)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from scheduler_admin import cron
from scheduler_admin.engine import dispatch as dispatch_module
from scheduler_admin.engine import retention
from scheduler_admin.engine.dispatch import redispatch_lost
from scheduler_admin.engine.loop import tick
from scheduler_admin.engine.planning import count_fire_times, plan_firing
from scheduler_admin.models import (
    AuditEntry,
    PruneLog,
    RunStatus,
    Schedule,
    ScheduleRun,
    Span,
    Trace,
)
from tests.factories import make_run, make_schedule

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _walked(expr: str, tz: str, first: datetime, last: datetime) -> int:
    n = 1
    for instant in cron.fire_times(expr, tz, first):
        if instant > last:
            return n
        n += 1
    return n


@pytest.mark.parametrize(
    "expr, tz, days",
    [
        ("* * * * *", "UTC", 200),
        ("*/5 9-17 * * 1-5", "Europe/Berlin", 200),
        ("30 1 * * *", "America/New_York", 200),  # fixed time across both DST changes
        ("0 0 29 2 *", "UTC", 3000),
    ],
)
def test_missed_times_are_counted_by_day_exactly_as_a_walk_would(expr, tz, days):
    first = cron.next_fire_time(expr, tz, T0 - timedelta(days=days))
    last = T0 + timedelta(days=3, hours=7)
    assert count_fire_times(expr, tz, first, last) == _walked(expr, tz, first, last)


def test_a_schedule_a_year_late_counts_every_missed_time():
    now = T0 + timedelta(days=365, seconds=1)
    plan = plan_firing(
        cron_expr="* * * * *",
        tz_name="UTC",
        due_at=T0,
        now=now,
        policy="latest",
        window_s=86400,
        max_runs=100,
        late_after_s=60,
    )
    assert plan.fire == [T0 + timedelta(days=365)]
    assert plan.missed == 365 * 1440  # every minute of the year, the fired one excepted


@pytest.mark.django_db
def test_an_old_lost_run_is_resent_before_hundreds_of_newer_ones(settings, monkeypatch):
    monkeypatch.setattr(dispatch_module, "dispatch", lambda pks: None)
    settings.SCHEDULER = {**settings.SCHEDULER, "REDISPATCH_AFTER_S": 60}
    schedule = make_schedule()
    old = make_run(
        schedule, scheduled_for=T0, dispatched_at=T0 - timedelta(hours=2), dispatch_count=6
    )
    ScheduleRun.objects.bulk_create(
        ScheduleRun(
            schedule=schedule,
            scheduled_for=T0 + timedelta(seconds=i),
            dispatched_at=T0 - timedelta(seconds=61),
            input={},
        )
        for i in range(1, 601)
    )
    resent = redispatch_lost(T0)
    assert resent[0] == old.pk and len(resent) == 500


# --- retention -------------------------------------------------------------


def _old_run(schedule, days_ago: int, status=RunStatus.SUCCESS, **fields) -> ScheduleRun:
    when = T0 - timedelta(days=days_ago)
    return make_run(schedule, scheduled_for=when, queued_at=when, status=status, **fields)


@pytest.mark.django_db
def test_prune_deletes_old_history_but_keeps_latest_runs_open_streaks_and_active_runs():
    from django_q.models import Task

    healthy, failing = make_schedule(), make_schedule()
    active = _old_run(healthy, 400, status=RunStatus.QUEUED)
    gone = _old_run(healthy, 200, run_id="r-gone")
    trace = Trace.objects.create(trace_id="t1", schedule_run=gone)
    Span.objects.create(trace=trace, span_id="s1", name="poll")
    Trace.objects.create(trace_id="t2", run_id="r-gone")
    latest_of_healthy = _old_run(healthy, 150)
    failure_before = _old_run(failing, 310, status=RunStatus.FAILED)
    last_success = _old_run(failing, 300)  # where the open streak starts
    streak = [_old_run(failing, d, status=RunStatus.FAILED) for d in (200, 190)]
    Schedule.objects.filter(pk=failing.pk).update(consecutive_failures=2)
    old_audit = AuditEntry.objects.create(action="created", schedule_name="x")
    AuditEntry.objects.filter(pk=old_audit.pk).update(created_at=T0 - timedelta(days=100))
    Task.objects.create(
        id="t" * 32,
        name="old",
        func="f",
        started=T0,
        stopped=T0 - timedelta(days=100),
        success=False,
    )

    pruned = retention.prune(T0)

    kept = set(ScheduleRun.objects.values_list("pk", flat=True))
    assert kept == {active.pk, latest_of_healthy.pk, last_success.pk, *(r.pk for r in streak)}
    assert gone.pk not in kept and failure_before.pk not in kept
    assert (pruned.runs, pruned.traces, pruned.spans) == (2, 2, 1)
    assert not Trace.objects.exists() and not Span.objects.exists()
    assert not AuditEntry.objects.filter(pk=old_audit.pk).exists()
    assert not Task.objects.exists()
    assert PruneLog.objects.get().runs == 2


@pytest.mark.django_db
def test_prune_works_in_small_batches_and_the_loop_comes_back_for_a_backlog(monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 2)
    monkeypatch.setattr(retention, "BATCHES_PER_TICK", 1)
    monkeypatch.setattr(retention, "_next_prune_at", None)
    schedule = make_schedule()
    for days in range(100, 106):
        _old_run(schedule, days)
    assert len(retention.prune_step(T0)) == 2  # one batch of two
    assert len(retention.prune_step(T0 + timedelta(seconds=1))) == 2  # backlog: next tick
    assert len(retention.prune_step(T0 + timedelta(seconds=2))) == 1  # the latest stays
    assert retention.prune_step(T0 + timedelta(seconds=3)) == []  # then every 10 minutes
    assert ScheduleRun.objects.count() == 1


# --- every query a tick runs is served by an index --------------------------


@pytest.mark.django_db
def test_every_query_a_tick_runs_searches_an_index_never_scans_history(monkeypatch):
    monkeypatch.setattr(dispatch_module, "dispatch", lambda pks: None)
    monkeypatch.setattr(retention, "_next_prune_at", None)
    schedules = [make_schedule(overlap_policy=p) for p in ("skip", "buffer_one", "allow")]
    for schedule in schedules:
        ScheduleRun.objects.bulk_create(
            ScheduleRun(
                schedule=schedule,
                scheduled_for=T0 - timedelta(minutes=i),
                status=RunStatus.SUCCESS,
                queued_at=T0 - timedelta(minutes=i),
                input={},
            )
            for i in range(1, 300)
        )
    Schedule.objects.update(next_run_at=T0)
    _statistics_of_a_million_runs()
    executed = []

    def record(execute, sql, params, many, context):
        executed.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        tick(T0 + timedelta(seconds=1))
    scans, explained = [], 0
    for sql, params in executed:
        if not sql.startswith("SELECT") or "agno_schedule_runs" not in sql:
            continue
        explained += 1
        with connection.cursor() as cursor:
            # With the bound parameters, as the tick ran it: SQLite plans a partial
            # index differently for a literal than for a parameter.
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = [row[-1] for row in cursor.fetchall()]
        scans += [(line, sql) for line in plan if _reads_history(line)]
    assert explained >= 6
    assert scans == []


PARTIAL = ("run_dispatch_idx", "run_lease_idx", "run_retry_of_idx", "run_running_schedule_idx")


def _statistics_of_a_million_runs() -> None:
    """ANALYZE, then scale the statistics of the full indexes to a million runs: the
    planner then chooses as it would on a big history (where "status = ?" looks
    unselective and a schedule's index looks cheap), not as on this small table."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        rows = ScheduleRun.objects.count()
        cursor.execute("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'agno_schedule_runs'")
        for idx, stat in cursor.fetchall():
            if idx and (idx in PARTIAL or idx.startswith("run_queued_schedule")):
                continue
            scaled = " ".join(
                n if n == "1" else str(int(n) * 1_000_000 // rows) for n in stat.split()
            )
            cursor.execute(
                "UPDATE sqlite_stat1 SET stat = %s WHERE tbl = 'agno_schedule_runs' AND idx IS %s",
                [scaled, idx],
            )
        cursor.execute("ANALYZE sqlite_schema")  # reload the statistics


def _reads_history(line: str) -> bool:
    """A plan step that walks the run table or a schedule's whole history."""
    return line.startswith("SCAN agno_schedule_runs") or (
        "agno_schedule_runs" in line
        and ("run_schedule_idx" in line or "schedule_id_365da8e2" in line)
        and "rowid>?" not in line  # prune: runs newer than one, of that schedule
    )
