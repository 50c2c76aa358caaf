"""import_agentos_schedules against a real AgentOS (agno[os]) with its scheduler on."""

import socket
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
import requests
from django.core.management import CommandError, call_command

from scheduler_admin.api import agentos_import
from scheduler_admin.models import Schedule, Target

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

APP = Path(__file__).with_name("agentos_scheduler_app.py")
KEY = "agentos-test-key"

AGENTOS_SCHEDULES = [
    {
        "name": "daily-digest",
        "cron_expr": "0 9 * * *",
        "endpoint": "/agents/my-agent/runs",
        "payload": {"message": "Summarise yesterday"},
        "timezone": "Europe/Berlin",
        "timeout_seconds": 120,
        "max_retries": 2,
        "retry_delay_seconds": 30,
    },
    {"name": "health ping", "cron_expr": "*/15 * * * *", "endpoint": "/health", "method": "GET"},
    {
        "name": "weekly.report",
        "cron_expr": "0 7 * * 1",
        "endpoint": "/workflows/report/runs",
        "payload": {"message": "Weekly report", "additional_data": {"team": "ops"}},
        "timezone": "America/New_York",
    },
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(proc: subprocess.Popen, url: str, log: Path, deadline_s: float = 60) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        try:
            proc.wait(timeout=0.2)  # doubles as the pause between attempts
        except subprocess.TimeoutExpired:
            continue
        raise RuntimeError(f"AgentOS exited early: {log.read_text()[-2000:]}")
    raise RuntimeError("AgentOS did not come up in time")


@pytest.fixture(scope="module")
def agentos(tmp_path_factory):
    """A real AgentOS on a free port, holding three schedules made through its API."""
    port = _free_port()
    db_file = tmp_path_factory.mktemp("agentos") / "agentos.db"
    log = (db_file.parent / "agentos.log").open("wb")  # a file: a full pipe would block it
    proc = subprocess.Popen(
        [sys.executable, str(APP), str(db_file), str(port), KEY],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(proc, url, db_file.parent / "agentos.log")
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {KEY}"
        for body in AGENTOS_SCHEDULES:
            response = http.post(f"{url}/schedules", json=body, timeout=10)
            assert response.status_code == 201, response.text
        weekly = next(
            s
            for s in http.get(f"{url}/schedules", timeout=10).json()["data"]
            if s["name"] == "weekly.report"
        )
        assert http.post(f"{url}/schedules/{weekly['id']}/disable", timeout=10).ok
        yield url, http
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def target(agentos, monkeypatch):
    monkeypatch.setenv("AGENTOS_IMPORT_TEST_TOKEN", KEY)
    return Target.objects.create(
        name="agentos", base_url=agentos[0], token_env="AGENTOS_IMPORT_TEST_TOKEN"
    )


def _import(*args) -> str:
    out = StringIO()
    call_command("import_agentos_schedules", "--target", "agentos", *args, stdout=out)
    return out.getvalue()


def test_dry_run_lists_what_would_be_created_and_writes_nothing(target, monkeypatch):
    monkeypatch.setattr(agentos_import, "PAGE_SIZE", 2)  # three schedules: two pages
    output = _import()
    for body in AGENTOS_SCHEDULES:
        assert f"create    {body['name']}" in output
    assert "Would create 3, update 0, leave 0 unchanged" in output
    assert "nothing written" in output
    assert not Schedule.objects.exists()


def test_apply_creates_the_same_schedules_and_a_second_run_changes_nothing(target, agentos):
    url, http = agentos
    output = _import("--apply")
    assert "Created 3, update 0, leave 0 unchanged" in output

    for body in AGENTOS_SCHEDULES:
        ours = Schedule.objects.get(name=body["name"])
        assert ours.target == target
        assert (ours.cron_expr, ours.endpoint) == (body["cron_expr"], body["endpoint"])
        assert ours.timezone == body.get("timezone", "UTC")
        assert ours.payload == body.get("payload", {})
        assert ours.method == body.get("method", "POST")
    digest = Schedule.objects.get(name="daily-digest")
    assert (digest.timeout_s, digest.max_retries, digest.retry_delay_s) == (120, 2, 30)
    assert not Schedule.objects.get(name="weekly.report").enabled
    assert Schedule.objects.get(name="health ping").enabled

    again = _import("--apply")
    assert "Created 0, update 0, leave 3 unchanged" in again
    assert Schedule.objects.count() == 3

    # A change made on the AgentOS side is carried over as an update.
    remote_id = next(
        s["id"]
        for s in http.get(f"{url}/schedules", timeout=10).json()["data"]
        if s["name"] == "health ping"
    )
    changed = http.patch(
        f"{url}/schedules/{remote_id}", json={"cron_expr": "*/5 * * * *"}, timeout=10
    )
    assert changed.ok, changed.text
    preview = _import()
    assert "update    health ping  (cron_expr: '*/15 * * * *' -> '*/5 * * * *')" in preview
    assert Schedule.objects.get(name="health ping").cron_expr == "*/15 * * * *"


def test_wrong_token_is_a_readable_error(target, monkeypatch):
    monkeypatch.setenv("AGENTOS_IMPORT_TEST_TOKEN", "wrong")
    with pytest.raises(CommandError, match="HTTP 401 from GET /schedules"):
        _import()


def test_unknown_target_is_a_readable_error(db):
    with pytest.raises(CommandError, match="Unknown target"):
        _import()
