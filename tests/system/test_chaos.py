"""Chaos: two schedulers and two django-q2 clusters on PostgreSQL + Redis while a
script, bounded in time (about three minutes), stops and starts Redis, restarts
PostgreSQL, SIGKILLs and restarts schedulers and a cluster, and adds a schedule whose
timezone no longer loads. At the end every due time of every schedule has exactly one
first attempt and ended in success, nothing is left queued or running, and the
schedulers logged each fault and its recovery.
"""

import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.system.stack import Postgres, Redis, Stack, wait_for

pytestmark = pytest.mark.slow

SCHEDULES = 30


def at(moment: datetime, offset_s: float) -> None:
    """Sleep until ``moment + offset_s`` (wall clock): faults are placed around due times."""
    delay = (moment + timedelta(seconds=offset_s) - datetime.now(UTC)).total_seconds()
    if delay > 0:
        time.sleep(delay)


def scheduler_logs(logs: Path) -> str:
    return "".join(p.read_text() for p in sorted(logs.glob("scheduler-*.log")))


def test_chaos_every_due_time_runs_once_and_the_loop_recovers_from_each_fault(tmp_path):
    postgres, redis_server = Postgres(), Redis()
    database_url = postgres.start()
    stack = None
    try:
        stack = Stack(
            database_url,
            logs=tmp_path,
            REDIS_URL=redis_server.start(),
            SCHEDULER_REDISPATCH_AFTER_S="10",
            Q_WORKERS="2",
        )
        stack.manage("migrate", "--no-input", "-v0")
        first = (datetime.now(UTC) + timedelta(seconds=75)).replace(second=0, microsecond=0)
        second = first + timedelta(minutes=1)
        ids = stack.shell(
            "import json, datetime\n"
            "from scheduler_admin.engine.operations import create_schedule\n"
            "from scheduler_admin.models import Schedule\n"
            f"ids = [create_schedule({{'name': f'chaos {{i}}', 'endpoint': '/noop', "
            f"'cron_expr': '* * * * *', 'overlap_policy': 'allow', 'catch_up_policy': 'all', "
            f"'max_retries': 5, 'retry_delay_s': 1}}).pk for i in range({SCHEDULES})]\n"
            f"Schedule.objects.filter(pk__in=ids).update("
            f"next_run_at=datetime.datetime.fromisoformat({first.isoformat()!r}))\n"
            "print(json.dumps(ids))"
        )
        procs = {}
        for n in (1, 2):
            procs[f"cluster-{n}"] = stack.start("qcluster", name=f"cluster-{n}")
            procs[f"scheduler-{n}"] = stack.start("run_scheduler", name=f"scheduler-{n}")

        # Around the first due time: the broker is down (runs committed, sent later).
        at(first, -4)
        redis_server.stop()
        at(first, 8)
        redis_server.start()
        # A schedule whose timezone tzdata dropped: paused, the rest keep firing.
        at(first, 14)
        broken = stack.shell(
            "import json, datetime\n"
            "from scheduler_admin.engine.operations import create_schedule\n"
            "from scheduler_admin.models import Schedule\n"
            "s = create_schedule({'name': 'broken tz', 'endpoint': '/noop', "
            "'cron_expr': '* * * * *'})\n"
            "Schedule.objects.filter(pk=s.pk).update(timezone='US/Pacific-New', "
            "next_run_at=datetime.datetime.now(datetime.UTC))\n"
            "print(json.dumps(s.pk))"
        )
        at(first, 25)
        postgres.restart()
        # Around the second due time: both schedulers SIGKILLed, then one cluster.
        at(second, -1)
        os.kill(procs["scheduler-1"].pid, signal.SIGKILL)
        at(second, 0.3)
        os.kill(procs["scheduler-2"].pid, signal.SIGKILL)
        at(second, 3)
        for n in (1, 2):
            stack.start("run_scheduler", name=f"scheduler-{n}-restarted")
        at(second, 6)
        os.killpg(procs["cluster-1"].pid, signal.SIGKILL)
        at(second, 9)
        stack.start("qcluster", name="cluster-1-restarted")

        # Settle before the third due time: nothing queued or running.
        wait_for(
            lambda: (
                not stack.query(
                    "SELECT 1 FROM agno_schedule_runs WHERE status IN ('queued', 'running') "
                    "AND schedule_id = ANY(%s)",
                    (ids,),
                )
            ),
            max(5.0, (second + timedelta(seconds=55) - datetime.now(UTC)).total_seconds()),
            "every run to finish",
        )
        first_attempts = stack.query(
            "SELECT schedule_id, scheduled_for, COUNT(*) FROM agno_schedule_runs "
            "WHERE attempt = 1 AND schedule_id = ANY(%s) GROUP BY schedule_id, scheduled_for",
            (ids,),
        )
        assert all(count == 1 for _, _, count in first_attempts)
        assert sorted((sid, t) for sid, t, _ in first_attempts) == sorted(
            (sid, t) for sid in ids for t in (first, second)
        )
        unsuccessful = stack.query(
            "SELECT schedule_id, scheduled_for FROM agno_schedule_runs r "
            "WHERE schedule_id = ANY(%s) GROUP BY schedule_id, scheduled_for "
            "HAVING SUM(CASE WHEN status = 'success' THEN 1 ELSE 0 END) = 0",
            (ids,),
        )
        assert unsuccessful == []
        [(enabled, reason)] = stack.query(
            "SELECT enabled, paused_reason FROM agno_schedules WHERE id = %s", (broken,)
        )
        assert not enabled and "US/Pacific-New" in reason

        logs = scheduler_logs(tmp_path)
        assert "scheduler step 'fired' failed" in logs  # the broker was down at a due time
        # The PostgreSQL restart is not asserted in the logs: a pass that starts after it
        # reconnects silently (conn_health_checks), and only a pass cut mid-query logs an
        # error. That the loop carried on through it is what the due-time checks above show.
        assert "recovered" in logs
        assert "cannot be planned" in logs
    finally:
        if stack:
            stack.stop_all()
        redis_server.stop()
        postgres.stop()
