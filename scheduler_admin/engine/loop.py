"""The scheduler process: sleep until the earliest due time, fire, dispatch, recover."""

import logging
import threading
from collections import Counter
from datetime import datetime, timedelta

from django.db import close_old_connections, connection
from django.utils import timezone

from scheduler_admin.engine.approvals import expire_paused
from scheduler_admin.engine.config import option
from scheduler_admin.engine.dispatch import dispatch_ready, redispatch_lost
from scheduler_admin.engine.firing import fire_due
from scheduler_admin.engine.recovery import reap_expired_leases
from scheduler_admin.engine.retention import prune_step
from scheduler_admin.models import Schedule, ScheduleRun
from scheduler_admin.ops.heartbeat import beat

log = logging.getLogger(__name__)

# Failures per step since the process started; logged with each failure.
FAULTS: Counter[str] = Counter()
# Steps whose last attempt failed: the next success is logged as a recovery.
_FAILING: set[str] = set()


def tick(now: datetime) -> dict[str, int]:
    """One pass of the scheduler; each step is idempotent and safe beside other schedulers.

    A step that fails (a locked or restarting database, a broker outage, a bug) is
    logged and counted, and the other steps still run: nothing one step hits may stop
    firing, dispatch, reaping or redispatch for everyone. It runs again next tick.
    """
    counts = {}
    for name, step in STEPS:
        try:
            counts[name] = len(step(now))
        except Exception as exc:  # noqa: BLE001 - logged and counted; the step runs again
            FAULTS[name] += 1
            _FAILING.add(name)
            log.exception(
                "scheduler step %r failed (%s; %d failure(s) since start); it runs again next tick",
                name,
                type(exc).__name__,
                FAULTS[name],
            )
            counts[f"{name}_failed"] = 1
            _drop_broken_connection()
        else:
            if name in _FAILING:
                _FAILING.discard(name)
                log.warning("scheduler step %r recovered", name)
    return counts


def _drop_broken_connection() -> None:
    """A connection the failure broke (say, PostgreSQL restarted) must not fail the
    steps after this one too: close it and the next query opens a fresh one."""
    if connection.connection is not None and not connection.in_atomic_block:
        if not connection.is_usable():
            connection.close()


STEPS = (
    ("fired", fire_due),
    ("dispatched", dispatch_ready),
    ("reaped", reap_expired_leases),
    ("redispatched", redispatch_lost),
    ("pruned", prune_step),
    ("pauses expired", expire_paused),
)


def seconds_until_next_wake(now: datetime, poll_s: float) -> float:
    """Until the earliest due schedule (less FIRE_AHEAD_S: it is written that early) or
    queued retry, but never longer than poll_s; 0 if something is due already (another
    scheduler holds it, or it waits its turn)."""
    due_at = Schedule.objects.next_due_at()
    if due_at is not None:
        due_at -= timedelta(seconds=option("FIRE_AHEAD_S"))
    candidates = [due_at]
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
    return max(0.0, (wake - now).total_seconds())


def next_delay(wait_s: float, overdue_streak: int, poll_s: float) -> float:
    """How long to sleep. Something still due right after a tick (rows another
    scheduler holds locked, a run in its handover grace) is retried after 20 ms, then
    40, 80 … up to the poll interval, instead of every few milliseconds."""
    if wait_s > 0:
        return wait_s
    return min(poll_s, 0.01 * 2 ** max(1, overdue_streak))


def run_forever(stop: threading.Event) -> None:
    """Loop until ``stop`` is set (SIGTERM/SIGINT in the command)."""
    poll_s = option("POLL_INTERVAL_S")
    log.info("scheduler started (poll interval %.2f s)", poll_s)
    overdue = 0
    while not stop.is_set():
        close_old_connections()
        try:
            with beat("scheduler"):  # ops/heartbeat.py: /readyz and /metrics read it
                counts = tick(timezone.now())
            if any(counts.values()):
                log.info("tick: %s", counts)
            wait_s = seconds_until_next_wake(timezone.now(), poll_s)
            overdue = overdue + 1 if wait_s == 0 else 0
            delay = next_delay(wait_s, overdue, poll_s)
        except Exception:  # noqa: BLE001 - e.g. the database is down; the next tick retries
            log.exception("scheduler tick failed; retrying after the poll interval")
            close_old_connections()
            delay = poll_s
        # A millisecond past the due time, so the claim's `<= now` sees it due.
        stop.wait(delay + 0.001)
    log.info("scheduler stopped")
