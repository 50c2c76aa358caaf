"""Nothing lost, nothing twice: pick up runs whose worker died.

A worker holds a lease only while it executes a run itself or sends a submit. When
the lease runs out, what happens depends on how far the worker got (stored before
each step, so it is known here):

- nothing was sent yet: the run goes back to the queue, same attempt;
- a background run's submit was sent: its fate is unknown, so the followers look it
  up on the server by its session id (engine/follow.py) instead of sending it again;
- a plain request was sent: it is sent again with the same Idempotency-Key, at most
  MAX_RESENDS times;
- the local runtime was running it: the run died with the worker; it is closed as
  "worker lost" and retried by the schedule's policy;
- it was being cancelled: it is closed as cancelled.
"""

import logging
from datetime import datetime, timedelta

from agentos_bridge import remote_runs
from scheduler_admin.engine.clock import db_now
from scheduler_admin.engine.execution import build_request
from scheduler_admin.engine.outcomes import close_lost_run, record_outcome
from scheduler_admin.models import RunStage, RunStatus, ScheduleRun

log = logging.getLogger(__name__)

MAX_RESENDS = 3


def reap_expired_leases(now: datetime | None = None) -> list[int]:
    """Handle every running run whose lease ran out (by the database's clock)."""
    now = db_now()
    expired = ScheduleRun.objects.lease_expired(now).select_related("schedule__target")[:500]
    recovered = []
    for run in expired:
        try:
            if _recover(run, now):
                recovered.append(run.pk)
        except Exception as exc:  # noqa: BLE001 - one run's trouble must not stop the rest
            log.exception("run %s: could not be recovered (%s)", run.pk, type(exc).__name__)
    return recovered


def _recover(run: ScheduleRun, now: datetime) -> bool:
    expired = ScheduleRun.objects.filter(
        pk=run.pk, status=RunStatus.RUNNING, worker=run.worker, lease_expires_at__lt=now
    )
    who = run.worker or "unknown worker"
    request = build_request(run)
    if run.stage == RunStage.CANCELLING and not remote_runs.is_background_run(request):
        from agentos_bridge.outcome import Outcome

        return record_outcome(run, Outcome(status="cancelled"), worker=run.worker)
    if request.target.is_local:
        # The local runtime ran inside the worker: the run died with it.
        return close_lost_run(run, now)
    if run.request_sent_at is None and run.stage in (RunStage.SUBMITTING, RunStage.EXECUTING):
        log.warning("run %s: worker lost before sending; queued again", run.pk)
        return _queue_again(run, expired, now, f"{who} stopped before sending; queued again")
    if remote_runs.is_background_run(request):
        # Sent, fate unknown: find it on the server, never send it blindly again.
        stage = RunStage.CANCELLING if run.stage == RunStage.CANCELLING else RunStage.REATTACHING
        changed = expired.update(
            stage=stage,
            worker="",
            lease_expires_at=None,
            next_check_at=now,
            **run.reattach_changes(
                f"{who} stopped after sending; looking the run up on the server"
            ),
        )
        log.warning("run %s: worker lost after the submit; re-attaching", run.pk)
        return bool(changed)
    if run.reattach_count < MAX_RESENDS:
        note = f"{who} stopped during the request; sending it again, same key"
        return _queue_again(run, expired, now + timedelta(seconds=1), note)
    return close_lost_run(run, now)


def _queue_again(run: ScheduleRun, expired, not_before: datetime, note: str) -> bool:
    """The same attempt back in the queue (same Idempotency-Key, same session)."""
    return bool(
        expired.update(
            status=RunStatus.QUEUED,
            stage=RunStage.NONE,
            worker="",
            lease_expires_at=None,
            started_at=None,
            dispatched_at=None,
            not_before=not_before,
            **run.reattach_changes(note),
        )
    )
