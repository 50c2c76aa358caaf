"""Cancel runs: one from the console, API or agent tools, or every waiting run of a
schedule that is disabled, paused or deleted.

A queued run (waiting for a worker, a retry delay, or its turn behind a running one)
is closed at once: its claim is a conditional UPDATE on status "queued", so a worker
that receives it later does nothing. A running run is marked "cancelling": a follower
cancels it on the agent server and closes it (engine/follow.py); a run the local
runtime executes is closed as cancelled when its worker returns.
"""

import logging

from django.db import transaction
from django.db.models import Q

from scheduler_admin.engine.audit import record
from scheduler_admin.engine.clock import db_now
from scheduler_admin.models import RunStage, RunStatus, Schedule, ScheduleRun

log = logging.getLogger(__name__)


class RunNotCancellable(Exception):
    """The run has ended (or is being cancelled already)."""


def _user(user):
    return user if getattr(user, "is_authenticated", False) else None


def cancel_run(run: ScheduleRun, *, user=None) -> ScheduleRun:
    """Cancel ``run``; raises RunNotCancellable when there is nothing left to cancel."""
    who = _user(user)
    name = who.get_username() if who else "the system"
    with transaction.atomic():
        now = db_now()
        closed = ScheduleRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
            status=RunStatus.CANCELLED,
            stage=RunStage.NONE,
            held_for_overlap=False,
            completed_at=now,
            cancelled_by=who,
            error=f"Cancelled by {name} before it started",
        )
        if not closed:
            running = ScheduleRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).exclude(
                stage=RunStage.CANCELLING
            )
            # A followed run is cancelled by a follower now; a worker's run when the
            # worker is done (local) or has the run id (submit).
            closed = running.filter(stage__in=(RunStage.FOLLOWING, RunStage.REATTACHING)).update(
                stage=RunStage.CANCELLING, cancelled_by=who, next_check_at=now, follower=""
            )
            closed = closed or running.update(stage=RunStage.CANCELLING, cancelled_by=who)
        if not closed:
            raise RunNotCancellable(f"A {run.status} run cannot be cancelled.")
        record(user, "cancelled", run.schedule, run=run)
    run.refresh_from_db()
    log.info("run %s: cancelled by %s (%s)", run.pk, name, run.status)
    return run


def cancel_runs(runs, *, user=None) -> tuple[list[ScheduleRun], list[str]]:
    done, skipped = [], []
    for run in runs:
        try:
            done.append(cancel_run(run, user=user))
        except RunNotCancellable as exc:
            skipped.append(f"Run {run.pk}: {exc}")
    return done, skipped


def cancel_waiting(schedule: Schedule, why: str) -> int:
    """Cancel the schedule's runs that have not been handed to a worker: retries
    waiting out their delay and runs held behind a running one."""
    count = _waiting(schedule).update(
        status=RunStatus.CANCELLED,
        held_for_overlap=False,
        completed_at=db_now(),
        error=f"Cancelled: {why}",
    )
    if count:
        log.info("schedule %s: %s waiting runs cancelled (%s)", schedule.pk, count, why)
    return count


def waiting_count(schedule: Schedule) -> int:
    """How many runs disabling the schedule would cancel (for the confirmation)."""
    return _waiting(schedule).count()


def _waiting(schedule: Schedule):
    """Runs not handed to a worker that wait for something: a retry's delay, or their
    turn behind a running run."""
    return ScheduleRun.objects.filter(
        schedule=schedule, status=RunStatus.QUEUED, dispatched_at__isnull=True
    ).filter(Q(held_for_overlap=True) | Q(not_before__gt=db_now()) | Q(retry_of__isnull=False))
