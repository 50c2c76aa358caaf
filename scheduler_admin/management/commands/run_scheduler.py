"""Fire due schedules on time: ``manage.py run_scheduler``. Stops cleanly on SIGTERM/SIGINT."""

import signal
import threading

from django.core.management.base import BaseCommand

from scheduler_admin.engine.loop import run_forever
from scheduler_admin.engine.registry import sync_code_schedules


class Command(BaseCommand):
    help = "Run the scheduler loop: claim due schedules, queue runs, retry, recover."

    def handle(self, *args, **options) -> None:
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        sync_code_schedules()
        run_forever(stop)
