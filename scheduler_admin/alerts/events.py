"""The engine's only way into alerting: three calls, each writing one row.

Called inside the engine's transaction, they record an AlertEvent there (so the event
commits with the run it describes, or not at all) and, once that transaction has
committed, ask for it to be processed elsewhere (a django-q2 task). Nothing here
reads channels, sends anything or waits on a network; if the task is lost (or the
broker refuses it: ``robust`` keeps that error out of the engine), ``manage.py
run_alerts`` processes the event on its next sweep.
"""

from django.db import transaction

from scheduler_admin.models import RunStatus, Schedule, ScheduleRun
from scheduler_admin.models.alerts import AlertEvent, AlertEventKind


def run_closed(run: ScheduleRun) -> None:
    """A run ended and the retry policy has been applied (its retry row, if any,
    exists in the same transaction)."""
    if run.status == RunStatus.SUCCESS and not run.schedule.consecutive_failures:
        # The happy path writes nothing: a schedule that was not failing has nothing
        # to resolve. (The count is the one loaded with the run, before the engine
        # reset it; should it be stale, run_alerts resolves from the runs themselves.)
        return
    AlertEvent.objects.create(
        kind=AlertEventKind.RUN_CLOSED,
        schedule_id=run.schedule_id,
        run=run,
        consecutive_failures=run.schedule.consecutive_failures,
    )
    transaction.on_commit(_process_soon, robust=True)


def schedule_paused(schedule: Schedule, reason: str) -> None:
    """The failure policy paused ``schedule``."""
    AlertEvent.objects.create(
        kind=AlertEventKind.SCHEDULE_PAUSED,
        schedule=schedule,
        consecutive_failures=schedule.consecutive_failures,
        note=reason[:500],
    )
    transaction.on_commit(_process_soon, robust=True)


def approval_needed(run: ScheduleRun) -> None:
    """``run`` paused and waits for a person (the approvals inbox)."""
    AlertEvent.objects.create(
        kind=AlertEventKind.APPROVAL_NEEDED, schedule_id=run.schedule_id, run=run
    )
    transaction.on_commit(_process_soon, robust=True)


def _process_soon() -> None:
    from scheduler_admin.alerts.delivery import enqueue_processing

    enqueue_processing()
