"""Watch for what the scheduler cannot report itself: ``manage.py run_alerts``.

Late runs, a silent scheduler, reminders, and re-sending notifications whose task was
lost. Runs beside (never inside) the scheduler. Stops cleanly on SIGTERM/SIGINT.
"""

import signal
import threading

from django.core.management.base import BaseCommand

from scheduler_admin.alerts.monitor import run_forever


class Command(BaseCommand):
    help = "Run the alerts monitor: late runs, silent scheduler, reminders, re-sends."

    def handle(self, *args, **options) -> None:
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        run_forever(stop)
