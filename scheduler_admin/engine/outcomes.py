"""Record how a run ended, then apply the schedule's policies: retry, pause, buffer."""

import json
import logging
import math
import random
from datetime import datetime, timedelta

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from agentos_bridge.outcome import Outcome
from scheduler_admin.alerts import events as alert_events
from scheduler_admin.engine.clock import db_now
from scheduler_admin.engine.db_retry import is_blip, until_it_lands
from scheduler_admin.models import (
    ImportStatus,
    RunStage,
    RunStatus,
    Schedule,
    ScheduleRun,
    Trigger,
)

log = logging.getLogger(__name__)

MAX_RETRY_DELAY_S = 86400

_STATUS = {
    "success": RunStatus.SUCCESS,
    "failed": RunStatus.FAILED,
    "timeout": RunStatus.TIMEOUT,
    "paused": RunStatus.PAUSED,
    "cancelled": RunStatus.CANCELLED,
}


def record_outcome(
    run: ScheduleRun,
    outcome: Outcome,
    *,
    worker: str = "",
    follower: str = "",
    import_trace: bool = False,
) -> bool:
    """Close a running run with its outcome. False if the run was no longer ours (a
    worker's lease expired, or another follower took the run over).

    The write survives a database blip (retried until it lands); only a value the
    database refuses falls back to closing the run without its output, keeping the
    status the run really had."""
    owner = {"worker": worker} if worker else {"follower": follower}
    fields = closing_fields(outcome)
    # What the run already knows (its run id, when it was sent) is never wiped by an
    # outcome that does not repeat it.
    if outcome.run_id:
        fields["run_id"] = outcome.run_id[:64]
    if outcome.session_id:
        fields["session_id"] = outcome.session_id[:64]
    if outcome.request_sent_at and not run.request_sent_at:
        fields["request_sent_at"] = outcome.request_sent_at
    if import_trace and (outcome.session_id or run.session_id) and outcome.status != "timeout":
        fields["import_status"] = ImportStatus.PENDING

    def close(values: dict, ended: Outcome) -> bool:
        return until_it_lands(
            lambda: _close(run, values, ended, owner), f"run {run.pk}: storing its outcome"
        )

    try:
        return close(fields, outcome)
    except (DatabaseError, TypeError, ValueError) as exc:
        if is_blip(exc):
            raise  # the database stayed away past the budget: the run stays in flight
        # The outcome could not be stored (output the database refuses): keep the
        # status, drop the output, say why. Not a failure of the schedule.
        log.error("run %s: could not store its outcome: %s", run.pk, type(exc).__name__)
        fields.update(
            output=None,
            requirements=None,
            error=f"The run ended ({outcome.status}) but its output could not be stored: "
            f"{type(exc).__name__}",
        )
        return close(fields, outcome)


def closing_fields(outcome: Outcome) -> dict:
    """What every outcome writes on the run it closes."""
    return {
        "status": _STATUS.get(outcome.status, RunStatus.FAILED),
        # JSON-safe and NUL-free: PostgreSQL refuses \u0000 in text and jsonb.
        "output": storable(outcome.output),
        "requirements": storable(outcome.requirements),
        "error": storable(outcome.error),
        "status_code": outcome.status_code,
        "stage": RunStage.NONE,
        "lease_expires_at": None,
        "next_check_at": None,
    }


def _close(run: ScheduleRun, fields: dict, outcome: Outcome, owner: dict) -> bool:
    with transaction.atomic():
        now = db_now()
        mine = ScheduleRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING, **owner)
        row = mine.select_for_update().values("stage", "started_at", "cancelled_by_id").first()
        if row is None:
            log.warning("run %s: closed by someone else before its outcome arrived", run.pk)
            return False
        values = {**fields, "completed_at": now}
        started = row["started_at"] or now
        values["duration_ms"] = max(0, int((now - started).total_seconds() * 1000))
        if row["stage"] == RunStage.CANCELLING:
            # Cancelled while it ran: that is how it ended, whatever it returned.
            values.update(status=RunStatus.CANCELLED, error=cancel_note(row["cancelled_by_id"]))
        if values["status"] == RunStatus.PAUSED:
            # Waiting for a person now (engine/approvals.py): the inbox orders by
            # paused_at, the expiry step looks at pause_expires_at.
            limit = run.schedule.pause_timeout_s
            values["paused_at"] = now
            values["pause_expires_at"] = now + timedelta(seconds=limit) if limit else None
        if values.get("import_status") == ImportStatus.PENDING:
            values["next_check_at"] = now  # a follower imports the session and trace
        mine.update(**values)
        for name, value in values.items():
            setattr(run, name, value)
        after_run_ended(run, retryable=outcome.retryable, retry_after_s=outcome.retry_after_s)
    return True


def cancel_note(user_id: int | None) -> str:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    return f"Cancelled by {user.get_username()}" if user else "Cancelled"


def storable(value):
    """A value the database will take: JSON types only (others become text), and no
    NUL characters anywhere in its strings."""
    return _without_nul(json.loads(json.dumps(value, default=str)))


def _without_nul(value):
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


def close_lost_run(run: ScheduleRun, now: datetime) -> bool:
    """Close a run whose worker stopped renewing its lease; retry it by policy."""
    with transaction.atomic():
        closed = ScheduleRun.objects.filter(
            pk=run.pk, status=RunStatus.RUNNING, lease_expires_at__lt=now
        ).update(
            # request_sent_at and run_id are left as stored: they say the agent was called.
            status=RunStatus.FAILED,
            error=_lost_error(run),
            completed_at=now,
            duration_ms=int((now - (run.started_at or now)).total_seconds() * 1000),
            lease_expires_at=None,
            stage=RunStage.NONE,
        )
        if not closed:
            return False
        run.refresh_from_db()
        after_run_ended(run, retryable=True)
    log.warning("run %s: worker lost; closed as failed", run.pk)
    return True


def _lost_error(run: ScheduleRun) -> str:
    error = f"worker lost: {run.worker or 'unknown worker'} stopped renewing its lease"
    if run.request_sent_at:
        error += f"; the request had been sent at {run.request_sent_at.isoformat()}"
    if run.run_id:
        error += f" (agent run id {run.run_id})"
    return error


def after_run_ended(run: ScheduleRun, *, retryable: bool, retry_after_s: float | None = None):
    """Policies after a run closed: retry rows, consecutive failures, pause."""
    schedule = run.schedule
    if run.status == RunStatus.SUCCESS:
        Schedule.objects.filter(pk=schedule.pk, consecutive_failures__gt=0).update(
            consecutive_failures=0
        )
    elif run.status in (RunStatus.FAILED, RunStatus.TIMEOUT):
        if not (retryable and _create_retry(run, retry_after_s)):
            _count_failure(schedule, run)
    alert_events.run_closed(run)
    if run.status == RunStatus.PAUSED:
        alert_events.approval_needed(run)
    # A buffer_one run held behind this one is sent by dispatch_ready on the next tick.


def retry_delay_s(schedule: Schedule, attempt: int, retry_after_s: float | None = None) -> float:
    """delay × backoff^(attempt-1), ±10 % jitter, and never sooner than Retry-After."""
    base = schedule.retry_delay_s * schedule.retry_backoff ** max(0, attempt - 1)
    delay = base * random.uniform(0.9, 1.1)
    asked = retry_after_s if retry_after_s and math.isfinite(retry_after_s) else 0
    # A server may ask for anything in Retry-After: wait at most a day.
    return min(max(delay, asked), MAX_RETRY_DELAY_S)


def _create_retry(run: ScheduleRun, retry_after_s: float | None) -> bool:
    schedule = run.schedule
    if run.attempt > schedule.max_retries:
        return False
    delay = retry_delay_s(schedule, run.attempt, retry_after_s)
    try:
        with transaction.atomic():
            retry = ScheduleRun.objects.create(
                schedule=schedule,
                attempt=run.attempt + 1,
                scheduled_for=run.scheduled_for,
                trigger=Trigger.RETRY,
                status=RunStatus.QUEUED,
                not_before=timezone.now() + timedelta(seconds=delay),
                input=run.input,
                request=run.request,
                retry_of=run,
            )
    except IntegrityError:
        log.info("run %s: next attempt already exists", run.pk)
        return True
    log.info("run %s: attempt %s in %.1f s (run %s)", run.pk, retry.attempt, delay, retry.pk)
    return True


def _count_failure(schedule: Schedule, run: ScheduleRun) -> None:
    Schedule.objects.filter(pk=schedule.pk).update(
        consecutive_failures=F("consecutive_failures") + 1
    )
    schedule.refresh_from_db(fields=["consecutive_failures", "pause_after_failures", "enabled"])
    limit = schedule.pause_after_failures
    if limit and schedule.enabled and schedule.consecutive_failures >= limit:
        reason = (
            f"Paused after {schedule.consecutive_failures} consecutive failures; "
            f"last error: {run.error[:300]}"
        )
        Schedule.objects.filter(pk=schedule.pk).update(enabled=False, paused_reason=reason)
        from scheduler_admin.engine.audit import record
        from scheduler_admin.engine.cancel import cancel_waiting

        cancel_waiting(schedule, "schedule paused after repeated failures")
        record(None, "paused", schedule, run=run, note=reason)
        alert_events.schedule_paused(schedule, reason)
        log.warning("schedule %s: %s", schedule.pk, reason)
