"""Hand queued runs to the workers (django-q2), or run them inline.

The broker may deliver a run twice (the ORM broker re-leases unacknowledged jobs;
we re-send runs whose message was lost): execute_run claims with a conditional
update, so a second delivery does nothing.
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef

from scheduler_admin.engine.config import option
from scheduler_admin.models import RunStatus, ScheduleRun

log = logging.getLogger(__name__)

TASK = "scheduler_admin.engine.execution.execute_run"


def dispatch(run_pks: list[int]) -> None:
    """Send runs to the workers. Mode: django_q (default), inline, thread or manual."""
    if not run_pks:
        return
    mode = option("DISPATCH")
    if mode == "manual":
        return
    if mode in ("inline", "thread"):
        from scheduler_admin.engine.execution import execute_run, execute_run_in_thread

        for pk in run_pks:
            execute_run(pk) if mode == "inline" else execute_run_in_thread(pk)
        return
    from django_q.tasks import async_task

    # One transaction for the lot: with the ORM broker that is one commit, not N.
    with transaction.atomic():
        for pk in run_pks:
            async_task(TASK, pk, task_name=f"run-{pk}")


def dispatch_ready(now: datetime) -> list[int]:
    """Dispatch queued runs whose time has come: retries after their delay, and
    buffered runs whose schedule has nothing left running."""
    running = (
        ScheduleRun.objects.active()
        .filter(schedule_id=OuterRef("schedule_id"), held_for_overlap=False)
        .exclude(pk=OuterRef("pk"))
    )
    candidates = list(
        ScheduleRun.objects.ready_to_dispatch(now)
        .annotate(busy=Exists(running))
        .values_list("pk", "held_for_overlap", "busy")[: option("BATCH_SIZE")]
    )
    ready = [pk for pk, held, busy in candidates if not (held and busy)]
    claimed = [
        pk
        for pk in ready
        if ScheduleRun.objects.filter(
            pk=pk, status=RunStatus.QUEUED, dispatched_at__isnull=True
        ).update(dispatched_at=now, held_for_overlap=False)
    ]
    dispatch(claimed)
    return claimed


def redispatch_lost(now: datetime) -> list[int]:
    """Re-send runs handed to the broker long ago that no worker ever started."""
    cutoff = now - timedelta(seconds=option("REDISPATCH_AFTER_S"))
    pks = list(ScheduleRun.objects.lost_in_dispatch(cutoff).values_list("pk", flat=True)[:500])
    resent = [
        pk
        for pk in pks
        if ScheduleRun.objects.filter(
            pk=pk, status=RunStatus.QUEUED, dispatched_at__lt=cutoff
        ).update(dispatched_at=now)
    ]
    for pk in resent:
        log.warning("run %s: never started by a worker; dispatching it again", pk)
    dispatch(resent)
    return resent
