"""Follow runs in flight on agent servers: ``manage.py follow_runs``.

Run one or more, anywhere that reaches the database and the agent servers; each
checks many runs at once without holding a django-q2 worker (engine/follow.py).
Stops cleanly on SIGTERM/SIGINT: checks under way finish, the rest wait for the next
follower.
"""

import signal
import threading

from django.core.management.base import BaseCommand

from scheduler_admin.engine.follow import run_forever


class Command(BaseCommand):
    help = "Follow runs in flight: check them, store outcomes, re-attach, cancel, import."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--concurrency", type=int, default=None)

    def handle(self, *args, concurrency: int | None = None, **options) -> None:
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        run_forever(stop, concurrency=concurrency)
