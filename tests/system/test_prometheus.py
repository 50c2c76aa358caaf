"""A real Prometheus (Debian's package) scrapes /metrics with the bearer token, and the
fire lag of real firings reads back through its HTTP API."""

import json
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request

import pytest

from tests.system.stack import Stack, free_port, wait_for

pytestmark = pytest.mark.slow

METRICS_TOKEN = "scrape-token-for-the-test"
GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "python:scheduler_admin.ops.gunicorn_conf"]


@pytest.fixture
def app(tmp_path):
    # No allowed network: only the token opens /metrics, so the scrape proves it works.
    stack = Stack(
        f"sqlite:///{tmp_path / 'db.sqlite3'}",
        logs=tmp_path,
        METRICS_TOKEN=METRICS_TOKEN,
        METRICS_ALLOWED_NETWORKS="",
    )
    stack.manage("migrate", "--no-input", "-v0")
    stack.port = free_port()
    stack.start_argv(
        [*GUNICORN, "--bind", f"127.0.0.1:{stack.port}", "scheduler_admin.wsgi"], name="web"
    )
    yield stack
    stack.stop_all()


@pytest.fixture
def prometheus(tmp_path, app):
    binary = shutil.which("prometheus")
    if not binary:
        pytest.fail("prometheus not found: `make system-deps` installs Debian's package")
    config = tmp_path / "prometheus.yml"
    config.write_text(
        json.dumps(  # YAML is a superset of JSON
            {
                "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
                "scrape_configs": [
                    {
                        "job_name": "scheduler",
                        "authorization": {"credentials": METRICS_TOKEN},
                        "static_configs": [{"targets": [f"127.0.0.1:{app.port}"]}],
                    }
                ],
            }
        )
    )
    port = free_port()
    log = open(tmp_path / "prometheus.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


def query(prometheus: str, promql: str) -> list[dict]:
    url = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
            return json.loads(response.read())["data"]["result"]
    except OSError:
        return []


def test_prometheus_reads_the_fire_lag_of_real_firings(app, prometheus):
    # Three schedules due two seconds from now: the real scheduler fires them and the
    # workers send them, so the lag is measured, not made up.
    app.shell(
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from scheduler_admin.engine.operations import create_schedule\n"
        "from scheduler_admin.models import Schedule\n"
        "for i in range(3):\n"
        "    create_schedule({'name': f'due-{i}', 'endpoint': '/noop', 'cron_expr': '0 3 * * *'})\n"
        "Schedule.objects.update(next_run_at=timezone.now() + timedelta(seconds=2))\n"
        "print(3)"
    )
    app.start("run_scheduler", name="scheduler")
    app.start("qcluster", name="workers")

    wait_for(lambda: query(prometheus, 'up{job="scheduler"} == 1'), 60, "a successful scrape")
    fired = wait_for(
        lambda: query(prometheus, 'scheduler_fire_lag_seconds_bucket{le="+Inf"} >= 3'),
        90,
        "three fire lags in Prometheus",
    )
    assert fired[0]["metric"]["job"] == "scheduler"
    p99 = query(
        prometheus, "histogram_quantile(0.99, sum by (le) (scheduler_fire_lag_seconds_bucket))"
    )
    assert 0 < float(p99[0]["value"][1]) <= 5.0
    # The scheduler's heartbeat is there too.
    assert query(prometheus, 'scheduler_heartbeat_age_seconds{process="scheduler"} < 30')
