"""Durable agent calls with real processes: PostgreSQL, Redis, a django-q2 cluster, the
scheduler, a follower and a real AgentOS whose workflow takes 4 s. Workers are SIGKILLed
while their submits wait for answers, the follower is SIGKILLed and PostgreSQL restarted
while runs are in flight. The agent server counts what it receives: exactly one submit
per attempt, and every run ends with its outcome."""

import pytest
import requests

from tests.bridge.conftest import AgentOSProcess
from tests.system.stack import Postgres, Redis, Stack, wait_for

pytestmark = pytest.mark.slow

RUNS = 8


def statuses(stack: Stack) -> dict:
    return dict(stack.query("SELECT status, COUNT(*) FROM agno_schedule_runs GROUP BY status"))


def test_no_run_is_lost_or_sent_twice_through_kills_and_a_database_restart(tmp_path):
    pg, redis, agentos = Postgres(), Redis(), AgentOSProcess(tmp_path / "agno.db")
    url = pg.start()
    stack = None
    try:
        redis_url = redis.start()
        agentos.start()
        stack = Stack(
            url,
            logs=tmp_path,
            REDIS_URL=redis_url,
            SCHEDULER_LEASE_S="3",
            SCHEDULER_SUBMIT_TIMEOUT_S="20",
        )
        stack.manage("migrate", "--no-input", "-v0")
        stack.shell(
            "import json, datetime\n"
            "from django.utils import timezone\n"
            "from scheduler_admin.engine.operations import create_schedule\n"
            "from scheduler_admin.models import Schedule, Target\n"
            f"Target.objects.create(name='agentos', base_url={agentos.url!r})\n"
            f"ids = [create_schedule({{'name': f'slow {{i}}', 'target': 'agentos', "
            f"'endpoint': '/workflows/slow/runs', 'payload': {{'message': 'go'}}, "
            f"'cron_expr': '0 0 1 1 *', 'timeout_s': 120}}).pk for i in range({RUNS})]\n"
            "due = timezone.now() + datetime.timedelta(seconds=3)\n"
            "Schedule.objects.filter(pk__in=ids).update(next_run_at=due)\n"
            "print(json.dumps(ids))"
        )
        # Every submit is accepted by the server, but its answer takes 30 s: the
        # workers are killed while they wait, with the runs already on the server.
        requests.post(
            agentos.url + "/test/faults",
            params={"slow_answers": RUNS, "slow_answer_s": 30},
            timeout=5,
        )
        cluster = stack.start("qcluster", name="cluster-1")
        stack.start("run_scheduler", name="scheduler")
        wait_for(
            lambda: (
                stack.query(
                    "SELECT COUNT(*) FROM agno_schedule_runs WHERE status = 'running' "
                    "AND stage = 'submitting' AND request_sent_at IS NOT NULL"
                )[0][0]
                >= 2
            ),
            60,
            "submits waiting for their answers",
        )
        wait_for(
            lambda: (
                requests.get(agentos.url + "/test/counts", timeout=5).json().get("submits", 0) >= 2
            ),
            30,
            "the server to have received the submits",
        )
        stack.kill(cluster)
        follower = stack.start("follow_runs", name="follower-1")
        stack.start("qcluster", name="cluster-2")
        requests.post(agentos.url + "/test/faults", params={"slow_answers": 0}, timeout=5)

        # Runs in flight: the follower dies, the database restarts.
        wait_for(
            lambda: (
                stack.query("SELECT COUNT(*) FROM agno_schedule_runs WHERE stage = 'following'")[0][
                    0
                ]
                >= 1
            ),
            60,
            "runs being followed",
        )
        stack.kill(follower)
        pg.restart(down_s=2)
        stack.start("follow_runs", name="follower-2")

        wait_for(lambda: statuses(stack).get("success") == RUNS, 120, f"{RUNS} successful runs")
        assert statuses(stack) == {"success": RUNS}
        counts = requests.get(agentos.url + "/test/counts", timeout=5).json()
        keys = [row[0] for row in stack.query("SELECT schedule_id FROM agno_schedule_runs")]
        assert len(keys) == RUNS  # one attempt each: nothing was retried as new
        submits = {k: v for k, v in counts.items() if k.startswith("submit:")}
        assert len(submits) == RUNS and set(submits.values()) == {1}, submits
        reattached = stack.query(
            "SELECT COUNT(*) FROM agno_schedule_runs WHERE reattach_count > 0"
        )[0][0]
        assert reattached >= 2  # the killed workers' runs were found again, not re-sent
    finally:
        if stack:
            stack.stop_all()
        agentos.stop()
        redis.stop()
        pg.stop()
