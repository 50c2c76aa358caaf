"""What people and programs do to schedules and runs: the UI, the API, agent tools
and code-registered schedules all call these functions."""

import logging
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone

from scheduler_admin import cron
from scheduler_admin.engine.audit import record
from scheduler_admin.engine.dispatch import hand_over
from scheduler_admin.engine.snapshot import request_snapshot
from scheduler_admin.models import Schedule, ScheduleRun, Target, Trigger
from scheduler_admin.validators import validate_payload, validate_reason, validate_text

log = logging.getLogger(__name__)

EDITABLE_FIELDS = (
    "name",
    "description",
    "target",
    "endpoint",
    "method",
    "payload",
    "cron_expr",
    "timezone",
    "timeout_s",
    "max_retries",
    "retry_delay_s",
    "retry_backoff",
    "enabled",
    "overlap_policy",
    "catch_up_policy",
    "pause_after_failures",
    "pause_timeout_s",
    "pause_timeout_action",
)
_SCHEDULE_DEFINING = {"cron_expr", "timezone", "enabled"}


class ScheduleDisabled(Exception):
    """A disabled schedule was asked to run now."""


class RunNotRetryable(Exception):
    """Only failed, timed-out, cancelled or paused runs can be retried."""


def _resolve_target(value) -> Target:
    if isinstance(value, Target):
        return value
    if value in (None, ""):
        return Target.objects.local()
    try:
        return Target.objects.get(name=value)
    except Target.DoesNotExist:
        known = ", ".join(Target.objects.values_list("name", flat=True))
        raise ValidationError(
            {"target": f"Unknown target {value!r}; known targets: {known}."}
        ) from None


def _apply(schedule: Schedule, data: dict) -> dict:
    """Set fields from ``data``; return {field: [old, new]} for what changed."""
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(
            {
                key: "Unknown field; editable fields are " + ", ".join(EDITABLE_FIELDS) + "."
                for key in sorted(unknown)
            }
        )
    changes = {}
    for key, value in data.items():
        if key == "target":
            value = _resolve_target(value)
        if isinstance(value, str) and key not in ("description",):
            value = value.strip()
        old = getattr(schedule, key) if key != "target" or schedule.target_id else None
        if old != value:
            changes[key] = [_plain(old), _plain(value)]
            setattr(schedule, key, value)
    return changes


def _plain(value):
    return str(value) if isinstance(value, Target) else value


def _validate(schedule: Schedule) -> None:
    # Payload first: full_clean's cross-field rule reads it as a dict.
    try:
        validate_payload(schedule.payload)
    except ValidationError as exc:
        raise ValidationError({"payload": exc.messages}) from None
    # NUL first too: PostgreSQL cannot even compare such text (full_clean's unique
    # check would fail with a database error), and SQLite would store it.
    errors = {}
    for key in EDITABLE_FIELDS:
        try:
            validate_text(getattr(schedule, key, None) if key != "target" else None)
        except ValidationError as exc:
            errors[key] = exc.messages
    if errors:
        raise ValidationError(errors)
    schedule.full_clean()


def _name_taken(schedule: Schedule) -> bool:
    return Schedule.objects.filter(name=schedule.name).exclude(pk=schedule.pk).exists()


def _not_saved(exc: IntegrityError, schedule: Schedule) -> ValidationError:
    """Only a real unique violation on the name says "already exists"; any other
    refusal by the database is reported as such (validation should have caught it)."""
    if _name_taken(schedule):
        return ValidationError({"name": "A schedule with this name already exists."})
    return ValidationError(f"The database refused this schedule: {str(exc).splitlines()[0]}")


def next_run_after(schedule: Schedule, now: datetime) -> datetime | None:
    if not schedule.enabled:
        return None
    return cron.next_fire_time(schedule.cron_expr, schedule.timezone, now)


def create_schedule(data: dict, *, user=None, code_managed: bool = False) -> Schedule:
    """Validate and save a new schedule. Raises ValidationError; saves nothing then."""
    schedule = Schedule(code_managed=code_managed)
    data = {"target": None, **data}
    _apply(schedule, data)
    _validate(schedule)
    schedule.next_run_at = next_run_after(schedule, timezone.now())
    if getattr(user, "is_authenticated", False):
        schedule.created_by = schedule.updated_by = user
    with transaction.atomic():
        try:
            with transaction.atomic():
                schedule.save()
        except IntegrityError as exc:  # e.g. a concurrent create took the name
            raise _not_saved(exc, schedule) from None
        record(user, "created", schedule)
    return schedule


def update_schedule(schedule: Schedule, data: dict, *, user=None) -> dict:
    """Validate and save changes; return the diff. Nothing is saved on error."""
    original = Schedule.objects.get(pk=schedule.pk)
    changes = _apply(schedule, data)
    try:
        _validate(schedule)
    except ValidationError:
        _restore(schedule, original)
        raise
    if not changes:
        return {}
    # Write only what this edit changed: the scheduler and workers write next_run_at,
    # enabled/paused_reason (auto-pause) and consecutive_failures behind our back, and
    # ``schedule`` may be a copy read before they did.
    fields = [*changes, "updated_at"]
    if _SCHEDULE_DEFINING & changes.keys():
        schedule.next_run_at = next_run_after(schedule, timezone.now())
        fields.append("next_run_at")
    if "enabled" in changes:
        schedule.paused_reason = ""
        schedule.consecutive_failures = 0
        fields += ["paused_reason", "consecutive_failures"]
    if getattr(user, "is_authenticated", False):
        schedule.updated_by = user
        fields.append("updated_by")
    try:
        with transaction.atomic():
            schedule.save(update_fields=fields)
            record(user, "updated", schedule, changes=changes)
    except IntegrityError as exc:  # e.g. a concurrent rename took the name
        error = _not_saved(exc, schedule)
        _restore(schedule, original)
        raise error from None
    return changes


def _restore(schedule: Schedule, original: Schedule) -> None:
    for key in EDITABLE_FIELDS:
        setattr(schedule, key, getattr(original, key))


def delete_schedule(schedule: Schedule, *, user=None) -> None:
    from scheduler_admin.engine.cancel import cancel_run

    # Runs in flight are stopped on their servers first; then the rows go with it.
    for run in schedule.runs.filter(status="running").exclude(stage="cancelling"):
        try:
            cancel_run(run, user=user)
        except Exception:  # noqa: BLE001 - ended meanwhile
            pass
    with transaction.atomic():
        record(user, "deleted", schedule)
        schedule.delete()


def set_enabled(schedule: Schedule, enabled: bool, *, user=None, reason: str = "") -> bool:
    """Enable (clearing any pause) or disable (with an optional reason). False, and
    nothing changed, when enabling a schedule that is enabled already: recomputing its
    next run time from now would drop a due time or a catch-up backlog. A reason that
    is too long or holds NUL raises ValidationError (on "reason"); nothing is saved.
    Disabling cancels the schedule's waiting runs (retries, held runs)."""
    reason = reason.strip()
    try:
        validate_reason(reason)
    except ValidationError as exc:
        raise ValidationError({"reason": exc.messages}) from None
    if enabled:
        # Conditional on the stored state, not on ``schedule`` (possibly a stale copy).
        if not Schedule.objects.filter(pk=schedule.pk, enabled=False).exists():
            schedule.refresh_from_db(fields=["enabled", "paused_reason", "next_run_at"])
            return False
        schedule.paused_reason, schedule.consecutive_failures = "", 0
        schedule.next_run_at = cron.next_fire_time(
            schedule.cron_expr, schedule.timezone, timezone.now()
        )
    else:
        schedule.paused_reason = reason
        schedule.next_run_at = None
    schedule.enabled = enabled
    if getattr(user, "is_authenticated", False):
        schedule.updated_by = user
    with transaction.atomic():
        changed = Schedule.objects.filter(
            pk=schedule.pk, **({"enabled": False} if enabled else {})
        ).update(
            enabled=enabled,
            paused_reason=schedule.paused_reason,
            consecutive_failures=0 if enabled else F("consecutive_failures"),
            next_run_at=schedule.next_run_at,
            updated_by_id=schedule.updated_by_id,
            updated_at=timezone.now(),
        )
        if not changed:  # enabled meanwhile by someone else
            return False
        action = "enabled" if enabled else ("paused" if reason else "disabled")
        note = reason
        if not enabled:
            from scheduler_admin.engine.cancel import cancel_waiting

            cancelled = cancel_waiting(schedule, f"schedule {action}")
            if cancelled:
                note = f"{reason} ({cancelled} waiting runs cancelled)".strip()
        record(user, action, schedule, note=note)
    return True


def trigger_now(schedule: Schedule, *, user=None) -> ScheduleRun:
    """Queue a manual run for now and hand it to the workers.

    A manual run's scheduled_for never equals a cron instant: cron instants are whole
    seconds (microsecond 0), manual times never are, so a trigger at the very instant
    of a cron firing can take neither that firing's row nor its unique key. Two
    triggers in one microsecond move the second one on by a microsecond.
    """
    if not schedule.enabled:
        raise ScheduleDisabled(f"Schedule {schedule.name!r} is disabled; enable it first.")
    now = timezone.now()
    when = now if now.microsecond else now + timedelta(microseconds=1)
    for _ in range(1000):
        try:
            with transaction.atomic():
                run = ScheduleRun.objects.create(
                    schedule=schedule,
                    scheduled_for=when,
                    trigger=Trigger.MANUAL,
                    not_before=now,
                    queued_at=now,
                    input=schedule.payload,
                    request=request_snapshot(schedule),
                    triggered_by=user if getattr(user, "is_authenticated", False) else None,
                )
                record(user, "triggered", schedule, run=run)
            break
        except IntegrityError:
            when += timedelta(microseconds=1 if when.microsecond < 999_999 else 2)
    else:  # pragma: no cover - a thousand triggers in one millisecond
        raise IntegrityError("could not find a free manual trigger time")
    _hand_over_or_leave(run.pk, now)
    return run


def _hand_over_or_leave(run_pk: int, now: datetime) -> None:
    """Send a committed run; if the broker is down, the scheduler's dispatch_ready sends
    it when it is back (the run stays queued), so the caller still gets its run."""
    try:
        hand_over([run_pk], now)
    except Exception:  # noqa: BLE001 - the run is stored; dispatch_ready sends it later
        log.exception("run %s: broker unavailable; the scheduler sends it later", run_pk)


def retry_run(run: ScheduleRun, *, payload: dict | None = None, user=None) -> ScheduleRun:
    """A new attempt of the same scheduled time, linked to ``run``; optionally with an
    edited payload. The unique constraint makes a double click create one retry."""
    if not run.is_retryable_by_operator:
        raise RunNotRetryable(f"A {run.status} run cannot be retried.")
    if payload is not None:
        try:
            validate_payload(payload)
        except ValidationError as exc:
            raise ValidationError({"payload": exc.messages}) from None
    now = timezone.now()
    with transaction.atomic():
        if run.retries.exists():
            raise RunNotRetryable("This run was already retried; retry its latest attempt.")
        last = ScheduleRun.objects.filter(
            schedule_id=run.schedule_id, scheduled_for=run.scheduled_for
        ).aggregate(n=Max("attempt"))["n"]
        try:
            with transaction.atomic():
                retry = ScheduleRun.objects.create(
                    schedule_id=run.schedule_id,
                    attempt=(last or run.attempt) + 1,
                    scheduled_for=run.scheduled_for,
                    trigger=Trigger.RETRY,
                    not_before=now,
                    queued_at=now,
                    input=payload if payload is not None else run.input,
                    request=run.request,
                    retry_of=run,
                    triggered_by=user if getattr(user, "is_authenticated", False) else None,
                )
        except IntegrityError as exc:
            # Only the unique (schedule, scheduled_for, attempt) says "retried already".
            taken = ScheduleRun.objects.filter(
                schedule_id=run.schedule_id,
                scheduled_for=run.scheduled_for,
                attempt=(last or run.attempt) + 1,
            ).exists()
            if not taken:
                msg = f"The database refused this retry: {str(exc).splitlines()[0]}"
                raise ValidationError({"payload": msg}) from None
            raise RunNotRetryable("This run is being retried already.") from None
        note = "with an edited payload" if payload is not None else ""
        record(user, "retried", run.schedule, run=retry, note=note)
    _hand_over_or_leave(retry.pk, now)
    return retry


def retry_runs(runs, *, user=None) -> tuple[list[ScheduleRun], list[str]]:
    """Retry several runs; return the new attempts and one message per run skipped."""
    created, skipped = [], []
    for run in runs:
        try:
            created.append(retry_run(run, user=user))
        except RunNotRetryable as exc:
            skipped.append(f"Run {run.pk}: {exc}")
    return created, skipped


def retry_refusal(run: ScheduleRun, *, retried: bool) -> str | None:
    """Why retry_run would refuse ``run`` now, in its words; None if it would not.

    ``retried`` says whether a retry of ``run`` exists (the console reads it in the
    same query as the row). Pages use this to offer Retry only where it will work.
    """
    if not run.is_retryable_by_operator:
        return f"A {run.status} run cannot be retried."
    if retried:
        return "This run was already retried; retry its latest attempt."
    return None
