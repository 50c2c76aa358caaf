"""The whole service in the foreground: the web server, the scheduler, the follower of
runs in flight, the alerts monitor and a django-q2 cluster, each a child process.

``make run`` uses Django's development server. ``--production`` serves with gunicorn
(static files by whitenoise, collected first) and is what one machine without systemd
runs; with systemd, docs/deploy.md has one unit per process instead.

The children run in their own sessions, so Ctrl-C reaches only this command, which
sends each child one SIGTERM: django-q2's sentinel then stops its workers in order
(signalling the whole group at once stalls that shutdown), gunicorn finishes the
requests in hand. When one child exits, the others are stopped too, and the command
exits non-zero so a supervisor restarts the stack.
"""

import signal
import subprocess
import sys
import time
from dataclasses import dataclass

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

MANAGE = [sys.executable, "manage.py"]
GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "python:scheduler_admin.ops.gunicorn_conf"]


@dataclass(frozen=True)
class ProcessSpec:
    """One long-running process of the stack; ``{addr}`` in its command is filled in."""

    name: str
    command: tuple[str, ...]
    production_command: tuple[str, ...] | None = None  # None: the same in both modes

    def argv(self, *, production: bool, addr: str) -> list[str]:
        command = self.production_command if production and self.production_command else None
        return [part.format(addr=addr) for part in (command or self.command)]


# Add a process here and both modes start, watch and stop it.
PROCESSES = (
    ProcessSpec(
        "web",
        (*MANAGE, "runserver", "{addr}", "--noreload"),
        production_command=(*GUNICORN, "--bind", "{addr}", "scheduler_admin.wsgi"),
    ),
    ProcessSpec("scheduler", (*MANAGE, "run_scheduler")),
    ProcessSpec("follower", (*MANAGE, "follow_runs")),
    ProcessSpec("alerts", (*MANAGE, "run_alerts")),
    ProcessSpec("workers", (*MANAGE, "qcluster")),
)


class Command(BaseCommand):
    help = "Run the web server, scheduler, follower, alerts monitor and django-q2 cluster."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument(
            "--production",
            action="store_true",
            help="gunicorn instead of the development server; collects static files first.",
        )

    def handle(self, *args, addr: str, production: bool, **options) -> None:
        if production:
            call_command("collectstatic", interactive=False, verbosity=0)
        children = {
            spec.name: subprocess.Popen(
                spec.argv(production=production, addr=addr), start_new_session=True
            )
            for spec in PROCESSES
        }
        self.stdout.write(f"Started {', '.join(children)}. Open http://{addr}/ — Ctrl-C stops all.")
        stopping = False

        def forward(_signum, _frame):
            nonlocal stopping
            stopping = True
            for child in children.values():
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, forward)
        signal.signal(signal.SIGINT, forward)
        try:
            while all(child.poll() is None for child in children.values()):
                time.sleep(0.5)
        finally:
            exited = [name for name, child in children.items() if child.poll() is not None]
            for child in children.values():
                if child.poll() is None:
                    child.terminate()
            for name, child in children.items():
                try:
                    child.wait(timeout=25)
                except subprocess.TimeoutExpired:
                    self.stderr.write(f"{name} did not stop in 25 s; killing it")
                    child.kill()
        self.stdout.write("All stopped.")
        if not stopping:
            raise CommandError(f"{', '.join(exited)} exited by itself; stopped the others.")
