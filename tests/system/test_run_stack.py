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
        assert len(children) == 4  # web, scheduler, follower, workers

        stack.send_signal(signal.SIGINT)
        assert stack.wait(timeout=30) == 0
        for pid in children:
            assert subprocess.run(["kill", "-0", pid], capture_output=True).returncode != 0
    finally:
        if stack.poll() is None:
            stack.kill()
        log.close()
    assert "All stopped." in (tmp_path / "stack.log").read_text()
