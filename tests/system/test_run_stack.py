"""`make run`'s foreground stack: web, scheduler and workers start together, and one
Ctrl-C stops all of them."""

import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from tests.system.stack import ROOT, free_port, wait_for

pytestmark = pytest.mark.slow


def answers(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def test_the_stack_serves_and_one_ctrl_c_stops_everything(sqlite_stack, tmp_path):
    port = free_port()
    log = open(tmp_path / "stack.log", "w")  # noqa: SIM115 - closed below
    stack = subprocess.Popen(
        [sys.executable, "manage.py", "run_stack", "--addr", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=sqlite_stack.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(
            lambda: answers(f"http://127.0.0.1:{port}/accounts/login/") == 200, 60, "the login page"
        )
        children = subprocess.run(
            ["pgrep", "-P", str(stack.pid)], capture_output=True, text=True
        ).stdout.split()
        assert len(children) == 5  # web, scheduler, follower, alerts monitor, workers

        stack.send_signal(signal.SIGINT)
        assert stack.wait(timeout=30) == 0
        for pid in children:
            assert subprocess.run(["kill", "-0", pid], capture_output=True).returncode != 0
    finally:
        if stack.poll() is None:
            stack.kill()
        log.close()
    assert "All stopped." in (tmp_path / "stack.log").read_text()


PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "production-like-secret-key-" + "x" * 40,
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "false",
    "HEARTBEAT_EVERY_S": "0.5",
    "WEB_WORKERS": "2",
}


def test_production_stack_serves_with_gunicorn_and_stops_when_a_process_dies(
    sqlite_stack, tmp_path
):
    port = free_port()
    log = open(tmp_path / "stack.log", "w")  # noqa: SIM115 - closed below
    stack = subprocess.Popen(
        [sys.executable, "manage.py", "run_stack", "--production", "--addr", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env={**sqlite_stack.env, **PRODUCTION, "STATIC_ROOT": str(tmp_path / "static")},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        # Ready means the web server, the database and a ticking scheduler.
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/readyz") == 200, 90, "/readyz")
        children = subprocess.run(
            ["pgrep", "-P", str(stack.pid)], capture_output=True, text=True
        ).stdout.split()
        commands = {pid: open(f"/proc/{pid}/cmdline").read().replace("\0", " ") for pid in children}
        assert len(commands) == 5  # web, scheduler, follower, alerts monitor, workers
        assert any("gunicorn" in cmd for cmd in commands.values())
        assert not any("runserver" in cmd for cmd in commands.values())
        assert (tmp_path / "static" / "staticfiles.json").exists()  # collected first

        # The scheduler dies: the others are stopped, and the exit code says so, for
        # the supervisor (systemd, a container runtime) to restart the stack.
        scheduler = next(pid for pid, cmd in commands.items() if "run_scheduler" in cmd)
        subprocess.run(["kill", "-KILL", scheduler], check=True)
        assert stack.wait(timeout=40) != 0
        for pid in children:
            assert subprocess.run(["kill", "-0", pid], capture_output=True).returncode != 0
    finally:
        if stack.poll() is None:
            stack.kill()
        log.close()
    assert "scheduler exited by itself" in (tmp_path / "stack.log").read_text()
