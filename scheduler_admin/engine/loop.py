"""The scheduler process: sleep until the earliest due time, fire, dispatch, recover."""

import logging
import threading
from datetime import datetime, timedelta

from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from scheduler_admin.engine.config import option
from scheduler_admin.engine.dispatch import dispatch_ready, redispatch_lost
from scheduler_admin.engine.firing import fire_due
from scheduler_admin.engine.recovery import reap_expired_leases
from scheduler_admin.models import Schedule, ScheduleRun
from scheduler_admin.ops.heartbeat import beat

log = logging.getLogger(__name__)


def tick(now: datetime) -> dict[str, int]:
    """One pass of the scheduler; each step is idempotent and safe beside other schedulers."""
    counts = {}
    for name, step in STEPS:
        # One failing step (say, a locked database) must not hold up the others.
        try:
            counts[name] = len(step(now))
        except DatabaseError:
            log.exception("scheduler step %r failed; it runs again next tick", name)
            counts[name] = 0
    return counts


STEPS = (
    ("fired", fire_due),
    ("dispatched", dispatch_ready),
    ("reaped", reap_expired_leases),
    ("redispatched", redispatch_lost),
)


def seconds_until_next_wake(now: datetime, poll_s: float) -> float:
    """Until the earliest due schedule or queued retry, but never longer than poll_s."""
    candidates = [Schedule.objects.next_due_at()]
    candidates.append(
        ScheduleRun.objects.awaiting_dispatch()
        .order_by("not_before")
        .values_list("not_before", flat=True)
        .first()
    )
    wake = now + timedelta(seconds=poll_s)
    for when in candidates:
        if when is not None and when < wake:
            wake = when
    # At least 10 ms: a due row another scheduler holds locked must not make us spin.
    return max(0.01, (wake - now).total_seconds())


def run_forever(stop: threading.Event) -> None:
    """Loop until ``stop`` is set (SIGTERM/SIGINT in the command)."""
    poll_s = option("POLL_INTERVAL_S")
    log.info("scheduler started (poll interval %.2f s)", poll_s)
    while not stop.is_set():
        close_old_connections()
        try:
            with beat("scheduler"):  # ops/heartbeat.py: /readyz and /metrics read it
                counts = tick(timezone.now())
            if any(counts.values()):
                log.info("tick: %s", counts)
            delay = seconds_until_next_wake(timezone.now(), poll_s)
        except Exception:  # the loop must survive a database hiccup; the next tick retries
            log.exception("scheduler tick failed; retrying after the poll interval")
            delay = poll_s
        # A millisecond past the due time, so the claim's `<= now` sees it due.
        stop.wait(delay + 0.001)
    log.info("scheduler stopped")
