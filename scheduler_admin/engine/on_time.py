"""Runs written ahead of their time (FIRE_AHEAD_S) leave at their time.

The scheduler writes a burst of due runs, and the broker delivers them, a couple of
seconds early; the worker that receives them waits here, by the database's clock (the
one every scheduled time is compared with), and only then claims and sends them. A
worker that dies while waiting has claimed nothing: the runs are still queued and
are sent again like any lost delivery (engine/dispatch.py redispatch_lost).
"""

import time

from django.db.models import Max

from scheduler_admin.engine.clock import db_now
from scheduler_admin.engine.db_retry import until_it_lands
from scheduler_admin.models import RunStatus, ScheduleRun

MAX_FIRE_AHEAD_S = 30.0  # SCHEDULER_FIRE_AHEAD_S's upper bound (settings.py)


def wait_for_scheduled_time(run_pks: list[int]) -> float:
    """Sleep until the latest scheduled time among these queued runs (at most 31 s);
    returns the seconds waited."""
    latest = ScheduleRun.objects.filter(pk__in=run_pks, status=RunStatus.QUEUED).aggregate(
        latest=Max("scheduled_for")
    )["latest"]
    if latest is None:
        return 0.0
    started = time.monotonic()
    # Bounded by the most any scheduler may write ahead (the setting's range), not by
    # this worker's own setting: a run never leaves early for a setting that differs.
    budget = started + MAX_FIRE_AHEAD_S + 1.0
    while True:
        left = (latest - until_it_lands(db_now, "reading the database clock")).total_seconds()
        if left <= 0 or time.monotonic() >= budget:
            return time.monotonic() - started
        time.sleep(min(left, max(0.0, budget - time.monotonic())))
