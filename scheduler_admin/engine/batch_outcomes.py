"""Successes of one follower pass, recorded together.

A thousand runs of one length end within a second of each other; recorded one by one
(engine/outcomes.py record_outcome: a savepoint, a locking read, an update and the
schedule's failure count, about 2 ms each on SQLite) they queued for two seconds behind
one writer. Plain successes are the common case and need nothing of the policies but
the failure count reset, so they are written here in a few statements for the batch,
on the same conditions as record_outcome: still running, still this follower's, not
being cancelled. Every other outcome, and any success this cannot take, goes the one
by one way.
"""

from django.db import DatabaseError, transaction

from agentos_bridge.outcome import Outcome
from scheduler_admin.alerts import events as alert_events
from scheduler_admin.engine.clock import db_now
from scheduler_admin.engine.db_retry import is_blip
from scheduler_admin.engine.outcomes import closing_fields
from scheduler_admin.engine.row_updates import update_runs
from scheduler_admin.models import ImportStatus, RunStage, RunStatus, Schedule, ScheduleRun


def record_successes(items: list[tuple[ScheduleRun, Outcome]], *, follower: str) -> set[int]:
    """Close these runs as successes; returns the pks closed here. The caller records
    the others with record_outcome (which also tells "someone else closed it")."""
    if not items:
        return set()
    try:
        with transaction.atomic():
            return _record(items, follower)
    except DatabaseError as exc:
        if is_blip(exc):
            raise
        return set()  # a value the database refuses: the one-by-one path sorts it out


def _record(items: list[tuple[ScheduleRun, Outcome]], follower: str) -> set[int]:
    now = db_now()
    ours = dict(
        ScheduleRun.objects.filter(
            pk__in=[run.pk for run, _ in items], status=RunStatus.RUNNING, follower=follower
        )
        .exclude(stage=RunStage.CANCELLING)
        .select_for_update()
        .values_list("pk", "started_at")
    )
    values, closed = {}, []
    for run, outcome in items:
        if run.pk not in ours:
            continue
        session_id = (outcome.session_id or run.session_id)[:64]
        started = ours[run.pk] or now
        values[run.pk] = {
            **closing_fields(outcome),
            "completed_at": now,
            "duration_ms": max(0, int((now - started).total_seconds() * 1000)),
            "run_id": (outcome.run_id or run.run_id)[:64],
            "session_id": session_id,
            # A follower imports the session and trace next (engine/follow.py _import).
            "import_status": ImportStatus.PENDING if session_id else run.import_status,
            "next_check_at": now if session_id else None,
        }
        closed.append(run)
    update_runs(values, status=RunStatus.RUNNING, follower=follower)
    Schedule.objects.filter(
        pk__in={run.schedule_id for run in closed}, consecutive_failures__gt=0
    ).update(consecutive_failures=0)
    for run in closed:
        for name, value in values[run.pk].items():
            setattr(run, name, value)
        if run.schedule.consecutive_failures:  # a failing schedule recovered: alerts
            alert_events.run_closed(run)
    return {run.pk for run in closed}
