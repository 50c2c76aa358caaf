"""On PostgreSQL, every query a scheduler tick runs reads an index, never the history.

EXPLAIN of each SELECT on agno_schedule_runs that a real tick issued, on a table of
20,000 finished runs (ANALYZEd) with a few active ones.
"""

import pytest

from tests.system.stack import Stack

pytestmark = pytest.mark.slow

SCRIPT = r"""
import json
from datetime import UTC, datetime, timedelta
from django.db import connection
from django.test.utils import CaptureQueriesContext
from scheduler_admin.engine import dispatch as d, retention
from scheduler_admin.engine.loop import tick
from scheduler_admin.models import RunStatus, Schedule, ScheduleRun, Target

d.dispatch = lambda pks: None
retention._next_prune_at = None
t0 = datetime(2026, 6, 1, 12, tzinfo=UTC)
target = Target.objects.local()
Schedule.objects.bulk_create(
    Schedule(name=f"s{i}", target=target, endpoint="/noop", cron_expr="* * * * *",
             next_run_at=t0, overlap_policy=("skip", "buffer_one", "allow")[i % 3])
    for i in range(60)
)
ids = list(Schedule.objects.values_list("pk", flat=True))
ScheduleRun.objects.bulk_create(
    ScheduleRun(schedule_id=ids[i % 60], scheduled_for=t0 - timedelta(minutes=1 + i // 60),
                status=RunStatus.SUCCESS, queued_at=t0 - timedelta(minutes=1 + i // 60),
                dispatched_at=t0, input={})
    for i in range(20000)
)
ScheduleRun.objects.bulk_create(
    ScheduleRun(schedule_id=ids[i], scheduled_for=t0 - timedelta(seconds=30), status=status,
                queued_at=t0, input={}, lease_expires_at=t0 + timedelta(seconds=30))
    for i, status in enumerate(["running", "queued"] * 3)
)
with connection.cursor() as cursor:
    cursor.execute("ANALYZE")
with CaptureQueriesContext(connection) as queries:
    tick(t0 + timedelta(seconds=1))
seq_scans, explained = [], 0
for query in queries.captured_queries:
    sql = query["sql"]
    if not sql.startswith("SELECT") or "agno_schedule_runs" not in sql:
        continue
    explained += 1
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    if "Seq Scan on agno_schedule_runs" in plan:
        seq_scans.append([sql, plan])
print(json.dumps({"explained": explained, "seq_scans": seq_scans}))
"""


def test_every_tick_query_on_postgres_uses_an_index(postgres_url, tmp_path):
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS plans")
        conn.execute("CREATE DATABASE plans")
    stack = Stack(postgres_url.rsplit("/", 1)[0] + "/plans", logs=tmp_path)
    stack.manage("migrate", "--no-input", "-v0")
    result = stack.shell(SCRIPT)
    assert result["explained"] >= 6  # firing, overlap checks, dispatch, reaping, redispatch
    assert result["seq_scans"] == []


BACKOFF_SCRIPT = r"""
import json, threading
from scheduler_admin.engine import loop


class RecordingStop(threading.Event):
    waits = []

    def wait(self, timeout=None):
        self.waits.append(timeout)
        return super().wait(timeout)


stop = RecordingStop()
threading.Timer(3.0, stop.set).start()
loop.run_forever(stop)
print(json.dumps(stop.waits))
"""


def test_a_scheduler_backs_off_while_another_holds_the_due_rows_locked(postgres_url, tmp_path):
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS backoff")
        conn.execute("CREATE DATABASE backoff")
    url = postgres_url.rsplit("/", 1)[0] + "/backoff"
    stack = Stack(url, logs=tmp_path, SCHEDULER_DISPATCH="manual")
    stack.manage("migrate", "--no-input", "-v0")
    stack.shell(
        "import json, datetime\n"
        "from scheduler_admin.engine.operations import create_schedule\n"
        "from scheduler_admin.models import Schedule\n"
        "s = create_schedule({'name': 'held', 'endpoint': '/noop', 'cron_expr': '* * * * *'})\n"
        "Schedule.objects.filter(pk=s.pk).update(next_run_at=datetime.datetime(2026, 1, 1, "
        "tzinfo=datetime.UTC))\n"
        "print(json.dumps(s.pk))"
    )
    with psycopg.connect(url) as other_scheduler:
        # Another scheduler's claim, held open: the due row stays locked meanwhile.
        other_scheduler.execute("SELECT id FROM agno_schedules FOR UPDATE")
        waits = stack.shell(BACKOFF_SCRIPT)
        other_scheduler.rollback()
    # The row stays due all along: the loop waits longer each time, up to the poll
    # interval (0.5 s here), instead of re-polling every 10 ms.
    assert len([w for w in waits if w < 0.03]) <= 2
    assert max(waits) >= 0.45
    assert stack.query("SELECT COUNT(*) FROM agno_schedule_runs") == [(0,)]


BUFFER_SCRIPT = r"""
import json
from datetime import UTC, datetime, timedelta
from scheduler_admin.engine import dispatch as d
from scheduler_admin.engine.dispatch import dispatch_ready
from scheduler_admin.engine.firing import fire_due
from scheduler_admin.engine.operations import create_schedule
from scheduler_admin.models import Schedule, ScheduleRun

sent = []
d.dispatch = lambda pks: sent.extend(pks)
t0 = datetime(2026, 6, 1, 12, tzinfo=UTC)
s = create_schedule({"name": "buffered", "endpoint": "/noop", "cron_expr": "*/5 * * * *",
                     "overlap_policy": "buffer_one"})
Schedule.objects.filter(pk=s.pk).update(next_run_at=t0)
running = ScheduleRun.objects.create(schedule=s, scheduled_for=t0 - timedelta(minutes=10),
                                     status="running", not_before=t0, input={})
held = ScheduleRun.objects.create(schedule=s, scheduled_for=t0 - timedelta(minutes=5),
                                  held_for_overlap=True, not_before=t0, input={})
steps = {"while running": dispatch_ready(t0 + timedelta(seconds=5))}
ScheduleRun.objects.filter(pk=running.pk).update(status="success")
fire_due(t0 + timedelta(seconds=6))  # the next time comes as the running one ends
newer = ScheduleRun.objects.get(scheduled_for=t0)
steps["sent by firing"] = list(sent)
steps["newer held"] = newer.held_for_overlap
steps["while the buffered runs"] = dispatch_ready(t0 + timedelta(seconds=8))
ScheduleRun.objects.filter(pk=held.pk).update(status="success")
steps["after it"] = dispatch_ready(t0 + timedelta(seconds=9))
steps["ids"] = [held.pk, newer.pk]
print(json.dumps(steps))
"""


def test_buffer_one_on_postgres_runs_one_at_a_time_in_order(postgres_url, tmp_path):
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS buffer")
        conn.execute("CREATE DATABASE buffer")
    stack = Stack(postgres_url.rsplit("/", 1)[0] + "/buffer", logs=tmp_path)
    stack.manage("migrate", "--no-input", "-v0")
    steps = stack.shell(BUFFER_SCRIPT)
    held, newer = steps["ids"]
    assert steps["while running"] == []
    assert steps["sent by firing"] == [held] and steps["newer held"] is True
    assert steps["while the buffered runs"] == []
    assert steps["after it"] == [newer]
