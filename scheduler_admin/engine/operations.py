"""What people and programs do to schedules and runs: the UI, the API, agent tools
and code-registered schedules all call these functions."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from scheduler_admin import cron
from scheduler_admin.engine.audit import record
from scheduler_admin.engine.dispatch import dispatch
from scheduler_admin.engine.snapshot import request_snapshot
from scheduler_admin.models import Schedule, ScheduleRun, Target, Trigger
from scheduler_admin.validators import validate_payload

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
    schedule.full_clean()


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
            schedule.save()
        except IntegrityError:  # a concurrent create took the name
            raise ValidationError({"name": "A schedule with this name already exists."}) from None
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
    except IntegrityError:  # a concurrent rename took the name
        _restore(schedule, original)
        raise ValidationError({"name": "A schedule with this name already exists."}) from None
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


def set_enabled(schedule: Schedule, enabled: bool, *, user=None, reason: str = "") -> int:
    """Enable (clearing any pause) or disable (with an optional reason). Disabling
    cancels the schedule's waiting runs (retries, held runs); returns how many."""
    cancelled = 0
    schedule.enabled = enabled
    if enabled:
        schedule.paused_reason, schedule.consecutive_failures = "", 0
        schedule.next_run_at = next_run_after(schedule, timezone.now())
    else:
        schedule.paused_reason = reason.strip()[:500]
        schedule.next_run_at = None
    if getattr(user, "is_authenticated", False):
        schedule.updated_by = user
    with transaction.atomic():
        schedule.save(
            update_fields=[
                "enabled",
                "paused_reason",
                "consecutive_failures",
                "next_run_at",
                "updated_by",
                "updated_at",
            ]
        )
        action = "enabled" if enabled else ("paused" if reason else "disabled")
        note = reason
        if not enabled:
            from scheduler_admin.engine.cancel import cancel_waiting

            cancelled = cancel_waiting(schedule, f"schedule {action}")
            if cancelled:
                note = f"{reason} ({cancelled} waiting runs cancelled)".strip()
        record(user, action, schedule, note=note)
    return cancelled


def trigger_now(schedule: Schedule, *, user=None) -> ScheduleRun:
    """Queue a manual run for now and hand it to the workers."""
    if not schedule.enabled:
        raise ScheduleDisabled(f"Schedule {schedule.name!r} is disabled; enable it first.")
    now = timezone.now()
    with transaction.atomic():
        run = ScheduleRun.objects.create(
            schedule=schedule,
            scheduled_for=now,
            trigger=Trigger.MANUAL,
            not_before=now,
            queued_at=now,
            dispatched_at=now,
            input=schedule.payload,
            request=request_snapshot(schedule),
            triggered_by=user if getattr(user, "is_authenticated", False) else None,
        )
        record(user, "triggered", schedule, run=run)
    dispatch([run.pk])
    return run


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
                    dispatched_at=now,
                    input=payload if payload is not None else run.input,
                    request=run.request,
                    retry_of=run,
                    triggered_by=user if getattr(user, "is_authenticated", False) else None,
                )
        except IntegrityError:
            raise RunNotRetryable("This run is being retried already.") from None
        note = "with an edited payload" if payload is not None else ""
        record(user, "retried", run.schedule, run=retry, note=note)
    dispatch([retry.pk])
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
