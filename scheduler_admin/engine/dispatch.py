"""Hand queued runs to the workers (django-q2), or run them inline.

The broker may deliver a run twice (the ORM broker re-leases unacknowledged jobs;
we re-send runs whose message was lost): execute_run claims with a conditional
update, so a second delivery does nothing.
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from scheduler_admin.engine.config import option
from scheduler_admin.models import RunStatus, ScheduleRun

log = logging.getLogger(__name__)

TASK = "scheduler_admin.engine.execution.execute_runs"
# Runs per django-q2 task: a worker starts them side by side (a submit is a short
# request), so a burst of due runs costs a few broker messages, not one per run.
RUNS_PER_TASK = 20


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
        for start in range(0, len(run_pks), RUNS_PER_TASK):
            chunk = list(run_pks[start : start + RUNS_PER_TASK])
            async_task(TASK, chunk, task_name=f"runs-{chunk[0]}-{len(chunk)}")


def dispatch_ready(now: datetime) -> list[int]:
    """Dispatch queued runs whose time has come: retries after their delay, and
    buffered runs whose schedule has nothing left running."""
    running = (
        ScheduleRun.objects.active()
        .filter(schedule_id=OuterRef("schedule_id"), held_for_overlap=False)
        .exclude(pk=OuterRef("pk"))
    )
    ready = list(
        ScheduleRun.objects.ready_to_dispatch(now)
        .annotate(busy=Exists(running))
        .filter(Q(held_for_overlap=False) | Q(busy=False))
        .values_list("pk", flat=True)[: option("BATCH_SIZE")]
    )
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
    """Re-send runs handed to the broker long ago that no worker ever started.

    A run may also just be waiting behind long runs, so each re-send waits twice as
    long as the one before (60 s, 2 min, 4 min … up to an hour): a busy queue does not
    fill the broker with copies. Every copy is harmless (the claim is conditional).
    """
    base = option("REDISPATCH_AFTER_S")
    candidates = ScheduleRun.objects.lost_in_dispatch(now - timedelta(seconds=base))
    resent = []
    for pk, dispatched_at, count in candidates.values_list("pk", "dispatched_at", "dispatch_count")[
        :500
    ]:
        wait = timedelta(seconds=min(base * 2**count, 3600))
        if dispatched_at > now - wait:
            continue
        if ScheduleRun.objects.filter(
            pk=pk, status=RunStatus.QUEUED, dispatched_at=dispatched_at
        ).update(dispatched_at=now, dispatch_count=count + 1):
            log.warning("run %s: never started by a worker; dispatching it again", pk)
            resent.append(pk)
    dispatch(resent)
    return resent
