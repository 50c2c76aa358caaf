"""Claim due schedules and write one queued run per scheduled time.

Exactly once per scheduled time rests on three things:
1. the claim: on PostgreSQL ``SELECT … FOR UPDATE SKIP LOCKED``, so concurrent
   schedulers take disjoint schedules; on SQLite the IMMEDIATE transaction holds
   the database's write lock, so claimers take turns;
2. next_run_at advances inside the same transaction as the run rows are written;
3. the unique constraint on (schedule, scheduled_for, attempt) as the last guard.
"""

import logging
from datetime import datetime

from django.db import IntegrityError, connection, transaction

from scheduler_admin.engine.config import option
from scheduler_admin.engine.dispatch import dispatch
from scheduler_admin.engine.planning import plan_firing
from scheduler_admin.engine.snapshot import request_snapshot
from scheduler_admin.models import OverlapPolicy, RunStatus, Schedule, ScheduleRun, Trigger

log = logging.getLogger(__name__)


def fire_due(now: datetime) -> list[int]:
    """Fire every due schedule (in batches); return the pks of the runs dispatched."""
    fired: list[int] = []
    while True:
        claimed, run_pks = _fire_batch(now, option("BATCH_SIZE"))
        fired += run_pks
        if claimed < option("BATCH_SIZE"):
            return fired


def _fire_batch(now: datetime, batch_size: int) -> tuple[int, list[int]]:
    with transaction.atomic():
        due = Schedule.objects.due(now)
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        schedules = list(
            due.only(
                "pk",
                "name",
                "cron_expr",
                "timezone",
                "next_run_at",
                "overlap_policy",
                "catch_up_policy",
                "payload",
                "enabled",
                "paused_reason",
                "target_id",
                "method",
                "endpoint",
                "timeout_s",
            )[:batch_size]
        )
        if not schedules:
            return 0, []
        runs = _plan_runs(schedules, now)
        runs = _insert(runs)
        Schedule.objects.bulk_update(schedules, ["next_run_at", "enabled", "paused_reason"])
    to_dispatch = [r.pk for r in runs if r.status == RunStatus.QUEUED and r.dispatched_at]
    dispatch(to_dispatch)
    for run in runs:
        log.info("run %s: %s %s for %s", run.pk, run.status, run.schedule.name, run.scheduled_for)
    return len(schedules), to_dispatch


def _insert(runs: list[ScheduleRun]) -> list[ScheduleRun]:
    """Insert the planned runs. A row that already exists (the unique constraint
    caught a second firing of one time) is left out; the rest of the batch still fires."""
    try:
        with transaction.atomic():
            return ScheduleRun.objects.bulk_create(runs)
    except IntegrityError:
        kept = []
        for run in runs:
            try:
                with transaction.atomic():
                    run.save(force_insert=True)
                kept.append(run)
            except IntegrityError:
                log.warning(
                    "schedule %s: a run for %s exists already; not fired twice",
                    run.schedule_id,
                    run.scheduled_for,
                )
        return kept


def _plan_runs(schedules: list[Schedule], now: datetime) -> list[ScheduleRun]:
    ids = [s.pk for s in schedules]
    active = set(
        ScheduleRun.objects.active()
        .filter(schedule_id__in=ids, held_for_overlap=False)
        .values_list("schedule_id", flat=True)
    )
    holding = set(
        ScheduleRun.objects.active()
        .filter(schedule_id__in=ids, held_for_overlap=True)
        .values_list("schedule_id", flat=True)
    )
    runs: list[ScheduleRun] = []
    for schedule in schedules:
        plan = plan_firing(
            cron_expr=schedule.cron_expr,
            tz_name=schedule.timezone,
            due_at=schedule.next_run_at,
            now=now,
            policy=schedule.catch_up_policy,
            window_s=option("CATCH_UP_WINDOW_S"),
            max_runs=option("CATCH_UP_MAX_RUNS"),
            late_after_s=option("LATE_AFTER_S"),
        )
        schedule.next_run_at = plan.next_run_at
        if plan.next_run_at is None:
            # Nothing left to fire (e.g. a date that will not come again in this zone).
            schedule.enabled = False
            schedule.paused_reason = "The cron expression has no further fire times."
        if plan.skip:
            runs.append(
                _skipped(
                    schedule,
                    plan.skip,
                    now,
                    f"{plan.missed} scheduled time(s) missed while the scheduler was down; "
                    f"catch-up policy is 'none'.",
                    missed=plan.missed,
                )
            )
            continue
        for index, scheduled_for in enumerate(plan.fire):
            trigger = Trigger.CATCH_UP if plan.late else Trigger.SCHEDULE
            missed = plan.missed if index == len(plan.fire) - 1 else 0
            busy = schedule.pk in active
            if busy and schedule.overlap_policy == OverlapPolicy.SKIP:
                runs.append(
                    _skipped(
                        schedule,
                        scheduled_for,
                        now,
                        "The previous run was still in progress (overlap policy: skip).",
                        missed=missed,
                    )
                )
            elif busy and schedule.overlap_policy == OverlapPolicy.BUFFER_ONE:
                if schedule.pk in holding:
                    runs.append(
                        _skipped(
                            schedule,
                            scheduled_for,
                            now,
                            "A run was already buffered behind the running one "
                            "(overlap policy: buffer_one).",
                            missed=missed,
                        )
                    )
                else:
                    holding.add(schedule.pk)
                    runs.append(_queued(schedule, scheduled_for, now, trigger, missed, held=True))
            else:
                # Catch-up times of one plan ('all') are independent: all of them run.
                runs.append(_queued(schedule, scheduled_for, now, trigger, missed, held=False))
    return runs


def _queued(schedule, scheduled_for, now, trigger, missed, *, held) -> ScheduleRun:
    return ScheduleRun(
        schedule=schedule,
        scheduled_for=scheduled_for,
        trigger=trigger,
        status=RunStatus.QUEUED,
        not_before=now,
        queued_at=now,
        # Written as dispatched: if we die before handing it to the broker, the
        # redispatch sweep (engine/recovery.py) hands it over later.
        dispatched_at=None if held else now,
        held_for_overlap=held,
        input=schedule.payload,
        request=request_snapshot(schedule),
        missed_count=missed,
    )


def _skipped(schedule, scheduled_for, now, reason, *, missed=0) -> ScheduleRun:
    return ScheduleRun(
        schedule=schedule,
        scheduled_for=scheduled_for,
        trigger=Trigger.SCHEDULE,
        status=RunStatus.SKIPPED,
        not_before=now,
        queued_at=now,
        completed_at=now,
        error=reason,
        missed_count=missed,
    )
