"""/readyz and /metrics queries on PostgreSQL (the unit tests run on SQLite)."""

import pytest

from tests.system.stack import Stack

pytestmark = pytest.mark.slow

CODE = """
import json
from datetime import timedelta
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from scheduler_admin.engine.operations import create_schedule
from scheduler_admin.models import Heartbeat, ScheduleRun
from scheduler_admin.ops.health import run_checks
from scheduler_admin.ops.metrics import render

now = timezone.now()
schedule = create_schedule({"name": "pg", "endpoint": "/noop", "cron_expr": "* * * * *"})
for i, status in enumerate(["success", "failed", "running", "queued"]):
    ScheduleRun.objects.create(
        schedule=schedule, scheduled_for=now - timedelta(seconds=10 + i), status=status,
        request_sent_at=now - timedelta(seconds=9 + i), error="worker lost: x" if i == 1 else "",
    )
Heartbeat.objects.create(name="scheduler", beat_at=now)
families = {f.name: f for f in text_string_to_metric_families(render("")[0].decode())}
lag = families["scheduler_fire_lag_seconds"].samples
lost = families["scheduler_worker_lost_recent"].samples[0].value
print(json.dumps({
    "lag_count": next(s.value for s in lag if s.labels.get("le") == "+Inf"),
    "lost": lost,
    "checks": {name: result.ok for name, result in run_checks().items()},
}))
"""


def test_readiness_and_metrics_queries_run_on_postgres(postgres_url, tmp_path):
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS ops_metrics WITH (FORCE)")
        conn.execute("CREATE DATABASE ops_metrics")
    stack = Stack(postgres_url.rsplit("/", 1)[0] + "/ops_metrics", logs=tmp_path)
    stack.manage("migrate", "--no-input", "-v0")
    result = stack.shell(CODE)
    assert result["lag_count"] == 4
    assert result["lost"] == 1
    assert result["checks"] == {
        "database": True,
        "migrations": True,
        "broker": True,
        "scheduler": True,
        "runs_in_flight": True,
    }
