"""``make run``: the web server, the scheduler, a follower of runs in flight and a django-q2
cluster, in the foreground.

The children run in their own sessions, so Ctrl-C reaches only this command, which
sends each child one SIGTERM: django-q2's sentinel then stops its workers in order
(signalling the whole group at once stalls that shutdown). When one child exits,
the others are stopped too.
"""

import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the web server, the scheduler, a follower and a django-q2 cluster together."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000")

    def handle(self, *args, addr: str, **options) -> None:
        manage = [sys.executable, "manage.py"]
        commands = {
            "web": [*manage, "runserver", addr, "--noreload"],
            "scheduler": [*manage, "run_scheduler"],
            "follower": [*manage, "follow_runs"],
            "workers": [*manage, "qcluster"],
        }
        children = {
            name: subprocess.Popen(cmd, start_new_session=True) for name, cmd in commands.items()
        }
        self.stdout.write(f"Started {', '.join(children)}. Open http://{addr}/ — Ctrl-C stops all.")

        def forward(_signum, _frame):
            for child in children.values():
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, forward)
        signal.signal(signal.SIGINT, forward)
        try:
            while all(child.poll() is None for child in children.values()):
                time.sleep(0.5)
        finally:
            for child in children.values():
                if child.poll() is None:
                    child.terminate()
            for name, child in children.items():
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    self.stderr.write(f"{name} did not stop in 15 s; killing it")
                    child.kill()
        self.stdout.write("All stopped.")
