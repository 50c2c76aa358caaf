"""Hand queued runs to the workers (django-q2), or run them inline.

The broker may deliver a run twice (the ORM broker re-leases unacknowledged jobs;
we re-send runs whose message was lost): execute_run claims with a conditional
update, so a second delivery does nothing.
"""

import logging
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q

from scheduler_admin.engine.config import option
from scheduler_admin.models import RunStatus, ScheduleRun

log = logging.getLogger(__name__)

TASK = "scheduler_admin.engine.execution.execute_runs"
# Runs per django-q2 task: a worker starts them side by side (a submit is a short
# request), so a burst of due runs costs a few broker messages, not one per run. A
# burst is split across the cluster's workers (each holds its share until the runs'
# time, engine/on_time.py), at most MAX_RUNS_PER_TASK a task.
RUNS_PER_TASK = 20
MAX_RUNS_PER_TASK = 250


def task_size(count: int) -> int:
    """Runs per task for a hand-over of ``count`` runs: one task per worker."""
    from django.conf import settings

    workers = max(1, int(settings.Q_CLUSTER.get("workers") or 1))
    return min(MAX_RUNS_PER_TASK, max(RUNS_PER_TASK, -(-count // workers)))


def dispatch(run_pks: list[int]) -> None:
    """Send runs to the workers. Mode: django_q (default), inline, thread or manual."""
    if not run_pks:
        return
    mode = option("DISPATCH")
    if mode == "manual":
        return
    if mode in ("inline", "thread"):
        from scheduler_admin.engine.execution import execute_run, execute_run_in_thread
        from scheduler_admin.engine.on_time import wait_for_scheduled_time

        wait_for_scheduled_time(run_pks)
        for pk in run_pks:
            execute_run(pk) if mode == "inline" else execute_run_in_thread(pk)
        return
    from django_q.tasks import async_task

    # One transaction for the lot: with the ORM broker that is one commit, not N.
    size = task_size(len(run_pks))
    with transaction.atomic():
        for start in range(0, len(run_pks), size):
            chunk = list(run_pks[start : start + size])
            async_task(TASK, chunk, task_name=f"runs-{chunk[0]}-{len(chunk)}")


# A run committed by a scheduler (or the console) is that process's to hand over for
# this long; past it, any scheduler's dispatch_ready sends it (the process died or the
# broker was down in between).
HANDOVER_GRACE_S = 1.0


def hand_over(run_pks: list[int], now: datetime) -> list[int]:
    """Send freshly committed runs to the workers, then mark them dispatched.

    Sent first, marked after: a crash in between leaves them undispatched, and the next
    dispatch_ready of any scheduler sends them (a second delivery does nothing). If the
    broker is down, nothing is marked and the error is raised: the runs wait, queued,
    and are sent when it is back.
    """
    if not run_pks:
        return []
    dispatch(run_pks)
    ScheduleRun.objects.filter(pk__in=run_pks, dispatched_at__isnull=True).update(dispatched_at=now)
    return run_pks


def dispatch_ready(now: datetime) -> list[int]:
    """Dispatch queued runs whose time has come: retries after their delay, buffered
    runs whose schedule has nothing left in progress, and runs whose handover was lost.

    Claimed, sent and marked in one transaction (rows locked, SKIP LOCKED on PostgreSQL):
    if the broker fails or the process dies, the rows stay undispatched for next time.
    """
    in_progress = (
        ScheduleRun.objects.in_progress(now)
        .filter(schedule_id=OuterRef("schedule_id"))
        .exclude(pk=OuterRef("pk"))
    )
    with transaction.atomic():
        ready = ScheduleRun.objects.ready_to_dispatch(now).filter(
            queued_at__lte=now - timedelta(seconds=HANDOVER_GRACE_S)
        )
        if connection.features.has_select_for_update_skip_locked:
            ready = ready.select_for_update(skip_locked=True)
        rows = list(ready.values_list("pk", "held_for_overlap")[: option("BATCH_SIZE")])
        plain = [pk for pk, held in rows if not held]
        ScheduleRun.objects.filter(pk__in=plain).update(dispatched_at=now)
        # A buffered run is released only if, at the moment of the UPDATE, nothing else
        # of its schedule is in progress: the check and the release are one statement.
        released = [
            pk
            for pk, held in rows
            if held
            and ScheduleRun.objects.filter(pk=pk, status=RunStatus.QUEUED, held_for_overlap=True)
            .filter(~Exists(in_progress))
            .update(dispatched_at=now, held_for_overlap=False)
        ]
        claimed = sorted(plain + released)
        _send_in_transaction(claimed)
    _send_after_transaction(claimed)
    return claimed


def _send_in_transaction(run_pks: list[int]) -> None:
    """To a broker: inside the marking transaction, so a broker error rolls the marks
    back (with the ORM broker the jobs are rows of the same commit)."""
    if option("DISPATCH") == "django_q":
        dispatch(run_pks)


def _send_after_transaction(run_pks: list[int]) -> None:
    """In-process modes (inline, thread) execute the run: never inside our transaction."""
    if option("DISPATCH") != "django_q":
        dispatch(run_pks)


def _resend_due(now: datetime) -> Q:
    """Runs sent at least min(base × 2^count, 1 h) ago, as SQL: one branch per count."""
    base = option("REDISPATCH_AFTER_S")
    due, count = Q(), 0
    while base * 2**count < 3600:
        due |= Q(dispatch_count=count, dispatched_at__lte=now - timedelta(seconds=base * 2**count))
        count += 1
    return due | Q(dispatch_count__gte=count, dispatched_at__lte=now - timedelta(seconds=3600))


def redispatch_lost(now: datetime) -> list[int]:
    """Re-send runs handed to the broker long ago that no worker ever started.

    A run may also just be waiting behind long runs, so each re-send waits twice as
    long as the one before (60 s, 2 min, 4 min … up to an hour): a busy queue does not
    fill the broker with copies. Every copy is harmless (the claim is conditional).
    The wait is applied in SQL, oldest first, so an old lost run never waits behind
    newer ones.
    """
    candidates = (
        ScheduleRun.objects.filter(status=RunStatus.QUEUED, dispatched_at__isnull=False)
        .filter(_resend_due(now))
        .order_by("dispatched_at", "pk")
        .values_list("pk", "dispatched_at", "dispatch_count")[:500]
    )
    resent = []
    with transaction.atomic():
        for pk, dispatched_at, count in candidates:
            if ScheduleRun.objects.filter(
                pk=pk, status=RunStatus.QUEUED, dispatched_at=dispatched_at
            ).update(dispatched_at=now, dispatch_count=count + 1):
                log.warning("run %s: never started by a worker; dispatching it again", pk)
                resent.append(pk)
        _send_in_transaction(resent)  # a broker error rolls the re-send marks back
    _send_after_transaction(resent)
    return resent
