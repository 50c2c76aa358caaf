"""Alerting as separate processes: run_scheduler, run_alerts and a django-q2 cluster on
one SQLite database, a real HTTP receiver in this process. No fakes."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.alerts.receivers import start_http_receiver
from tests.system.stack import Stack, wait_for

pytestmark = pytest.mark.slow

LATE_AFTER_S = 8
TICK_S = 1


@pytest.fixture
def stack(tmp_path):
    stack = Stack(
        f"sqlite:///{tmp_path / 'db.sqlite3'}",
        logs=tmp_path,
        ALERT_LATE_AFTER_S=str(LATE_AFTER_S),
        ALERT_TICK_S=str(TICK_S),
        ALERT_DELIVERY="django_q",  # the test process set "manual" in its environment
    )
    stack.manage("migrate", "--no-input", "-v0")
    yield stack
    stack.stop_all()


@pytest.fixture
def receiver():
    server, receiver = start_http_receiver()
    yield receiver
    server.shutdown()
    server.server_close()


def add_channel(stack: Stack, url: str) -> None:
    stack.shell(
        "from tests.factories import make_channel\n"
        f"make_channel('webhook', url={url!r})\n"
        "print('null')"
    )


def types(receiver) -> list[str]:
    return [
        r.json()["type"] + ":" + r.json()["data"]["incident"]["kind"] for r in receiver.requests
    ]


def test_with_every_scheduler_dead_the_monitor_says_so_and_resolves_when_one_starts(
    stack, receiver
):
    add_channel(stack, f"{receiver.url}/hook")
    due = datetime.now(UTC) + timedelta(seconds=2)
    stack.shell(
        "import datetime\n"
        "from tests.factories import make_schedule\n"
        "from scheduler_admin.models import Schedule\n"
        "s = make_schedule(endpoint='/noop', cron_expr='* * * * *')\n"
        "Schedule.objects.filter(pk=s.pk).update(next_run_at="
        f"datetime.datetime.fromisoformat({due.isoformat()!r}))\n"
        "print('null')"
    )
    # No scheduler at all: only the workers and the alerts monitor.
    stack.start("qcluster", name="workers")
    stack.start("run_alerts", name="alerts")
    wait_for(lambda: receiver.requests, LATE_AFTER_S + 30, "the scheduler-silent alert")
    silent_after_s = time.time() - due.timestamp()
    assert types(receiver) == ["incident.opened:scheduler_silent"]
    # Within the late threshold, a tick, and delivery through a django-q2 worker.
    assert silent_after_s < LATE_AFTER_S + 3 * TICK_S + 5

    stack.start("run_scheduler", name="scheduler")
    wait_for(lambda: len(receiver.requests) == 2, 30, "the resolution")
    assert types(receiver) == [
        "incident.opened:scheduler_silent",
        "incident.resolved:scheduler_silent",
    ]


def test_a_final_failure_reaches_the_receiver_through_the_workers(stack, receiver):
    add_channel(stack, f"{receiver.url}/hook")
    stack.start("qcluster", name="workers")
    stack.start("run_alerts", name="alerts")
    stack.start("run_scheduler", name="scheduler")
    stack.shell(
        "from scheduler_admin.engine.operations import trigger_now\n"
        "from tests.factories import make_schedule\n"
        "s = make_schedule(endpoint='/agents/no-such-agent/runs', payload={'message': 'm'})\n"
        "trigger_now(s)\n"
        "print('null')"
    )
    wait_for(lambda: receiver.requests, 30, "the failure alert")
    body = receiver.requests[0].json()
    assert body["type"] == "incident.opened" and body["data"]["run"]["status"] == "failed"
    assert stack.query("SELECT COUNT(*) FROM alert_notifications") == [(1,)]
    assert len(receiver.requests) == 1
