"""Claim due schedules and write one queued run per scheduled time.

Exactly once per scheduled time rests on three things:
1. the claim: on PostgreSQL ``SELECT … FOR UPDATE SKIP LOCKED``, so concurrent
   schedulers take disjoint schedules; on SQLite the IMMEDIATE transaction holds
   the database's write lock, so claimers take turns;
2. next_run_at advances inside the same transaction as the run rows are written;
3. the unique constraint on (schedule, scheduled_for, attempt) as the last guard.

Planning (walking cron times) happens before the write transaction, from a plain
read; the claim then keeps only the schedules whose planned inputs are unchanged, so
a long catch-up never holds SQLite's write lock (workers renew leases through it).

Runs are written FIRE_AHEAD_S before their time (``horizon``) and handed over at
once; the worker holds them until their time (engine/on_time.py). Overlap is judged
at writing time, that much early.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction

from scheduler_admin.engine.config import option
from scheduler_admin.engine.dispatch import hand_over
from scheduler_admin.engine.planning import FiringPlan, plan_firing
from scheduler_admin.engine.snapshot import request_snapshot
from scheduler_admin.models import OverlapPolicy, RunStatus, Schedule, ScheduleRun, Trigger

log = logging.getLogger(__name__)

_FIELDS = (
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
    # The request each run snapshots (engine/snapshot.py).
    "target_id",
    "method",
    "endpoint",
    "timeout_s",
)
# What a plan was made from: a claim that finds any of these changed leaves the
# schedule for the next batch, planned again.
_PLAN_INPUTS = ("next_run_at", "cron_expr", "timezone", "catch_up_policy")


@dataclass
class _Batch:
    read: int  # due schedules read
    claimed: int  # of them, claimed and fired
    due_now: list[int]  # runs to hand over: due already
    ahead: list[int]  # and written ahead of their time


def fire_due(now: datetime) -> list[int]:
    """Fire every due schedule (in batches); return the pks of the runs dispatched.

    A broker failure does not stop the firing: every batch is committed, its runs stay
    queued for dispatch_ready, and the error is raised at the end so the loop logs it.
    """
    horizon = now + timedelta(seconds=option("FIRE_AHEAD_S"))
    due_now: list[int] = []
    ahead: list[int] = []
    batch_size = option("BATCH_SIZE")
    try:
        while True:
            batch = _fire_batch(now, horizon, batch_size)
            due_now += batch.due_now
            ahead += batch.ahead
            # Fewer than a batch read: done. None claimed: the rest is another scheduler's.
            if batch.read < batch_size or not batch.claimed:
                break
    finally:
        # Handed over together, after every batch is committed (even if a later batch
        # failed): the workers get a burst in as many tasks as they are
        # (engine/dispatch.py). Runs due now and runs written ahead go in separate
        # tasks, so none waits for a later time than its own.
        to_send = due_now + ahead
        try:
            hand_over(due_now, now)
            hand_over(ahead, now)
        except Exception as exc:
            log.error(
                "could not hand %d run(s) to the broker (%r); they stay queued", len(to_send), exc
            )
            raise
    return to_send


def _fire_batch(now: datetime, horizon: datetime, batch_size: int) -> _Batch:
    """Claim and write one batch of schedules due by ``horizon``."""
    candidates = {s.pk: s for s in Schedule.objects.due(horizon).only(*_FIELDS)[:batch_size]}
    if not candidates:
        return _Batch(0, 0, [], [])
    plans = {pk: _plan(schedule, horizon) for pk, schedule in candidates.items()}
    with transaction.atomic():
        due = Schedule.objects.due(horizon).filter(pk__in=list(candidates))
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        schedules = [
            s
            for s in due.only(*_FIELDS)
            if all(getattr(s, f) == getattr(candidates[s.pk], f) for f in _PLAN_INPUTS)
        ]
        if not schedules:
            return _Batch(len(candidates), 0, [], [])
        runs, released = _plan_runs(schedules, plans, now)
        runs = _insert(runs)
        Schedule.objects.bulk_update(schedules, ["next_run_at", "enabled", "paused_reason"])
    for run in runs:
        log.info("run %s: %s %s for %s", run.pk, run.status, run.schedule.name, run.scheduled_for)
    sent = [r for r in runs if r.status == RunStatus.QUEUED and not r.held_for_overlap]
    due_now = released + [r.pk for r in sent if r.scheduled_for <= now]
    ahead = [r.pk for r in sent if r.scheduled_for > now]
    return _Batch(len(candidates), len(schedules), due_now, ahead)


def _plan(schedule: Schedule, now: datetime) -> FiringPlan | Exception:
    """The schedule's plan, or why it cannot be planned (say, a timezone that tzdata
    dropped): one broken schedule must not stop the others from firing."""
    try:
        return plan_firing(
            cron_expr=schedule.cron_expr,
            tz_name=schedule.timezone,
            due_at=schedule.next_run_at,
            now=now,
            policy=schedule.catch_up_policy,
            window_s=option("CATCH_UP_WINDOW_S"),
            max_runs=option("CATCH_UP_MAX_RUNS"),
            late_after_s=option("LATE_AFTER_S"),
        )
    except Exception as exc:  # noqa: BLE001 - recorded on the schedule as its pause reason
        log.exception("schedule %s: cannot be planned; pausing it", schedule.pk)
        return exc


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


def _pause_unplannable(schedule: Schedule, exc: Exception) -> None:
    from scheduler_admin.engine.audit import record

    schedule.enabled = False
    schedule.next_run_at = None
    schedule.paused_reason = (
        f"Paused: the schedule could not be planned ({type(exc).__name__}: {exc}). "
        "Fix it and enable it again."
    )[:500]
    record(None, "paused", schedule, note=schedule.paused_reason)


def _plan_runs(
    schedules: list[Schedule], plans: dict, now: datetime
) -> tuple[list[ScheduleRun], list[int]]:
    """The run rows for the claimed schedules, and held runs released to go now."""
    ids = [s.pk for s in schedules]
    active = set(
        ScheduleRun.objects.in_progress(now)
        .filter(schedule_id__in=ids)
        .values_list("schedule_id", flat=True)
    )
    holding = dict(
        ScheduleRun.objects.filter(
            schedule_id__in=ids, status=RunStatus.QUEUED, held_for_overlap=True
        ).values_list("schedule_id", "pk")
    )
    runs: list[ScheduleRun] = []
    released: list[int] = []
    for schedule in schedules:
        plan = plans[schedule.pk]
        if isinstance(plan, Exception):
            _pause_unplannable(schedule, plan)
            continue
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
        if schedule.pk in holding and schedule.pk not in active:
            # The buffered run's turn has come: it goes first, newer times queue behind.
            held_pk = holding.pop(schedule.pk)
            if ScheduleRun.objects.filter(
                pk=held_pk, status=RunStatus.QUEUED, held_for_overlap=True
            ).update(held_for_overlap=False):
                released.append(held_pk)
            active.add(schedule.pk)  # released here or, just now, by dispatch_ready
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
            elif (busy or schedule.pk in holding) and (
                schedule.overlap_policy == OverlapPolicy.BUFFER_ONE
            ):
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
                    holding[schedule.pk] = None
                    runs.append(_queued(schedule, scheduled_for, now, trigger, missed, held=True))
            else:
                # Catch-up times of one plan ('all') are independent: all of them run.
                runs.append(_queued(schedule, scheduled_for, now, trigger, missed, held=False))
    return runs, released


def _queued(schedule, scheduled_for, now, trigger, missed, *, held) -> ScheduleRun:
    return ScheduleRun(
        schedule=schedule,
        scheduled_for=scheduled_for,
        trigger=trigger,
        status=RunStatus.QUEUED,
        # Written ahead of its time: should the handover be lost, dispatch_ready
        # sends it once its time has come.
        not_before=max(now, scheduled_for),
        queued_at=now,
        # Not yet dispatched: marked once the broker has it (dispatch.hand_over). If we
        # die before, dispatch_ready sends it within a second or two.
        dispatched_at=None,
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
