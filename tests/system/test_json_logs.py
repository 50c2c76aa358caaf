"""LOG_FORMAT=json: every line each process writes is one JSON object, lines about a run
carry its run, schedule, target and trace ids, and no token ever appears, not even when
an agent server echoes it back in an error."""

import json
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.system.stack import Stack, free_port, wait_for

pytestmark = pytest.mark.slow

AGENT_TOKEN = "agent-secret-token-0123456789"
GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "python:scheduler_admin.ops.gunicorn_conf"]


class EchoingAgentServer(BaseHTTPRequestHandler):
    """A careless agent server: it quotes the Authorization header in its errors."""

    def do_POST(self):
        body = f"denied: {self.headers.get('Authorization')}".encode()
        self.send_response(500)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def agent_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoingAgentServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_json_lines_with_ids_and_no_tokens(tmp_path, agent_server):
    stack = Stack(
        f"sqlite:///{tmp_path / 'db.sqlite3'}",
        logs=tmp_path,
        LOG_FORMAT="json",
        ECHO_AGENT_TOKEN=AGENT_TOKEN,
    )
    stack.manage("migrate", "--no-input", "-v0")
    schedule_pk = stack.shell(
        "from django.contrib.auth.models import User\n"
        "from scheduler_admin.engine.operations import create_schedule, trigger_now\n"
        "from scheduler_admin.models import Target\n"
        f"t = Target.objects.create(name='echo', base_url='{agent_server}', "
        "token_env='ECHO_AGENT_TOKEN')\n"
        "s = create_schedule({'name': 'echoed', 'target': t, 'endpoint': '/agents/a/runs', "
        "'cron_expr': '0 3 * * *', 'payload': {'message': 'hi'}})\n"
        "User.objects.create_superuser('ops', password='a-long-password-1')\n"
        "trigger_now(s)\n"
        "print(s.pk)"
    )
    api_token = stack.manage("create_api_token", "--user", "ops", "--name", "logs").strip()
    port = free_port()
    stack.start_argv([*GUNICORN, "--bind", f"127.0.0.1:{port}", "scheduler_admin.wsgi"], name="web")
    stack.start("run_scheduler", name="scheduler")
    stack.start("qcluster", name="workers")
    run_pk = wait_for(
        lambda: stack.query("SELECT id FROM agno_schedule_runs WHERE status = 'failed'"),
        60,
        "the run to fail",
    )[0][0]
    wait_for(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), 30, "gunicorn")
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/runs", headers={"Authorization": f"Bearer {api_token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        assert AGENT_TOKEN not in response.read().decode()  # the API redacts it too
    stack.stop_all()

    lines = []
    for name in ("web", "scheduler", "workers"):
        text = (tmp_path / f"{name}.log").read_text()
        assert AGENT_TOKEN not in text and api_token not in text, name
        lines += [json.loads(line) for line in text.splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= set(entry) for entry in lines)
    about_run = [entry for entry in lines if entry.get("run") == run_pk]
    assert about_run, "no line about the run"
    in_worker = [entry for entry in about_run if "trace" in entry]
    assert in_worker, about_run
    assert in_worker[-1]["schedule"] == schedule_pk
    assert in_worker[-1]["target"] == "echo"
    assert any(entry["logger"] == "gunicorn.access" for entry in lines)
    # Once the task is over, the worker's own lines no longer name the run.
    assert "run" not in next(e for e in lines if "stopped doing work" in e["message"])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback
            return True
    except OSError:
        return False
