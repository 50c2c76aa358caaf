"""The whole engine as separate processes: run_scheduler and django-q2 clusters.

These are the tests that claim firing works: real processes, real brokers, real
databases (SQLite with the ORM broker; PostgreSQL with Redis), no fakes.
"""

import os
import signal
from datetime import UTC, datetime, timedelta

import pytest

from scheduler_admin.cron import fire_times
from tests.system.stack import Stack, wait_for

pytestmark = pytest.mark.slow


def create_schedules(stack: Stack, specs: list[dict], due_in_s: float) -> tuple[list[int], str]:
    """Create schedules through the engine, all due at one shared instant."""
    due = (datetime.now(UTC) + timedelta(seconds=due_in_s)).replace(microsecond=0)
    ids = stack.shell(
        "import json, datetime\n"
        "from scheduler_admin.engine.operations import create_schedule\n"
        "from scheduler_admin.models import Schedule\n"
        f"ids = [create_schedule(spec).pk for spec in {specs!r}]\n"
        f"Schedule.objects.filter(pk__in=ids).update("
        f"next_run_at=datetime.datetime.fromisoformat({due.isoformat()!r}))\n"
        "print(json.dumps(ids))"
    )
    return ids, due.isoformat()


def run_counts(stack: Stack) -> dict[str, int]:
    return dict(stack.query("SELECT status, COUNT(*) FROM agno_schedule_runs GROUP BY status"))


def duplicates(stack: Stack) -> list[tuple]:
    return stack.query(
        "SELECT schedule_id, scheduled_for, COUNT(*) FROM agno_schedule_runs "
        "WHERE attempt = 1 GROUP BY schedule_id, scheduled_for HAVING COUNT(*) > 1"
    )


def test_due_schedules_fire_once_at_their_time_and_run_on_a_django_q2_cluster(sqlite_stack):
    specs = [{"name": f"job {i}", "endpoint": "/noop", "cron_expr": "0 0 1 1 *"} for i in range(20)]
    ids, due = create_schedules(sqlite_stack, specs, due_in_s=4)
    sqlite_stack.start("qcluster", name="cluster")
    sqlite_stack.start("run_scheduler", name="scheduler")

    wait_for(lambda: run_counts(sqlite_stack).get("success") == 20, 60, "20 successful runs")
    rows = sqlite_stack.query("SELECT schedule_id, scheduled_for, attempt FROM agno_schedule_runs")
    assert sorted(r[0] for r in rows) == sorted(ids)
    assert {r[1][:19] for r in rows} == {due[:19].replace("T", " ")}
    assert duplicates(sqlite_stack) == []
    # Each schedule advanced from its scheduled time to its next one (next 1 January).
    next_runs = sqlite_stack.query("SELECT DISTINCT next_run_at FROM agno_schedules")
    assert [r[0][:10] for r in next_runs] == [f"{datetime.now(UTC).year + 1}-01-01"]


def test_a_worker_killed_mid_run_has_its_run_closed_as_worker_lost_and_retried(sqlite_stack):
    specs = [
        {
            "name": "long job",
            "endpoint": "/sleep",
            "payload": {"seconds": 4},
            "cron_expr": "0 0 1 1 *",
            "max_retries": 1,
            "retry_delay_s": 1,
        }
    ]
    create_schedules(sqlite_stack, specs, due_in_s=2)
    sqlite_stack.start("qcluster", name="cluster")
    sqlite_stack.start("run_scheduler", name="scheduler")

    worker = wait_for(
        lambda: sqlite_stack.query(
            "SELECT worker FROM agno_schedule_runs WHERE status = 'running' AND attempt = 1"
        ),
        60,
        "the first attempt to be running",
    )[0][0]
    os.kill(int(worker.split(":")[1]), signal.SIGKILL)

    wait_for(
        lambda: sqlite_stack.query(
            "SELECT 1 FROM agno_schedule_runs WHERE attempt = 2 AND status = 'success'"
        ),
        60,
        "the retry to succeed",
    )
    first = sqlite_stack.query("SELECT status, error FROM agno_schedule_runs WHERE attempt = 1")[0]
    assert first[0] == "failed" and first[1].startswith("worker lost")
    retry_of = sqlite_stack.query(
        "SELECT r.retry_of_id = f.id FROM agno_schedule_runs r, agno_schedule_runs f "
        "WHERE r.attempt = 2 AND f.attempt = 1"
    )
    assert retry_of == [(1,)]
    assert run_counts(sqlite_stack) == {"failed": 1, "success": 1}


def test_a_scheduler_stopped_for_an_hour_catches_up_as_each_policy_says(sqlite_stack):
    specs = [
        {
            "name": f"catch-up {policy}",
            "endpoint": "/noop",
            "cron_expr": "*/5 * * * *",
            "catch_up_policy": policy,
            "overlap_policy": "allow",
        }
        for policy in ("latest", "none", "all")
    ]
    create_schedules(sqlite_stack, specs, due_in_s=0)
    # Simulate the downtime: the schedules were due an hour ago (13 due times since).
    now = datetime.now(UTC)
    hour_ago = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    hour_ago -= timedelta(hours=1)
    sqlite_stack.shell(
        "import datetime, json\nfrom scheduler_admin.models import Schedule\n"
        f"n = Schedule.objects.update(next_run_at=datetime.datetime.fromisoformat("
        f"{hour_ago.isoformat()!r}))\nprint(json.dumps(n))"
    )
    sqlite_stack.start("qcluster", name="cluster")
    sqlite_stack.start("run_scheduler", name="scheduler")

    def runs_of(policy, where="1 = 1"):
        return sqlite_stack.query(
            "SELECT r.status, r.trigger, r.missed_count, r.queued_at FROM agno_schedule_runs r "
            f"JOIN agno_schedules s ON s.id = r.schedule_id WHERE s.name = %s AND {where}",
            (f"catch-up {policy}",),
        )

    # The catch-up runs, not a later on-time firing if the test crosses a 5-minute mark.
    catch_up = "r.trigger = 'catch_up'"
    wait_for(
        lambda: (
            runs_of("latest", catch_up)
            and runs_of("none", "r.missed_count > 0")
            and runs_of("all", catch_up)
        ),
        60,
        "the scheduler to catch up",
    )
    claimed_at = datetime.fromisoformat(runs_of("all", catch_up)[0][3]).replace(tzinfo=UTC)
    # How many due times the downtime held, counted as the scheduler saw it.
    due = len(_due_between(hour_ago, claimed_at))
    assert due >= 13

    wait_for(
        lambda: len([r for r in runs_of("all", catch_up) if r[0] == "success"]) == due,
        60,
        f"{due} catch-up runs of 'all' to succeed",
    )
    wait_for(lambda: runs_of("latest", catch_up)[0][0] == "success", 30, "latest to succeed")
    assert [r[:3] for r in runs_of("latest", catch_up)] == [("success", "catch_up", due - 1)]
    # 'none' skips the missed times; the latest one still runs if the scheduler claimed
    # it no later than SCHEDULER_LATE_AFTER_S (60 s) after it was due.
    latest = _due_between(hour_ago, claimed_at)[-1]
    on_time = (claimed_at - latest).total_seconds() <= 60
    expected = ("success", "schedule", due - 1) if on_time else ("skipped", "schedule", due)
    wait_for(
        lambda: [r[:3] for r in runs_of("none", "r.missed_count > 0")] == [expected],
        30,
        f"'none' to record {expected}",
    )
    assert duplicates(sqlite_stack) == []


def _due_between(first: datetime, last: datetime) -> list[datetime]:
    """*/5 times from ``first`` through ``last``, both included."""
    times = [first]
    for instant in fire_times("*/5 * * * *", "UTC", first):
        if instant > last:
            return times
        times.append(instant)
    return times


def test_two_schedulers_and_two_clusters_on_postgres_fire_500_schedules_exactly_once(
    postgres_url, redis_url, tmp_path
):
    stack = Stack(postgres_url, logs=tmp_path, REDIS_URL=redis_url, Q_WORKERS="3")
    try:
        stack.manage("migrate", "--no-input", "-v0")
        specs = [
            {"name": f"pg job {i}", "endpoint": "/noop", "cron_expr": "* * * * *"}
            for i in range(500)
        ]
        ids, _ = create_schedules(stack, specs, due_in_s=8)
        for n in (1, 2):
            stack.start("qcluster", name=f"cluster-{n}")
            stack.start("run_scheduler", name=f"scheduler-{n}")
        wait_for(
            lambda: (
                stack.query("SELECT COUNT(*) FROM agno_schedule_runs WHERE status = 'success'")[0][
                    0
                ]
                >= 500
            ),
            120,
            "500 successful runs",
        )
        per_time = stack.query(
            "SELECT schedule_id, scheduled_for, COUNT(*) FROM agno_schedule_runs "
            "GROUP BY schedule_id, scheduled_for"
        )
        assert all(count == 1 for _, _, count in per_time)
        first_times = {sid: t for sid, t, _ in per_time}
        assert set(first_times) == set(ids)
        workers = stack.query("SELECT COUNT(DISTINCT worker) FROM agno_schedule_runs")[0][0]
        assert workers > 1
    finally:
        stack.stop_all()
