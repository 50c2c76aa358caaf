"""Retention: delete history older than RUN_RETENTION_DAYS, a small batch at a time.

Each batch is its own short transaction (200 rows), so pruning never holds
a long lock: on SQLite the write lock is released between batches and workers renew
their leases in between. Never deleted, however old:
- the latest run of every schedule (its page and the API show "last run");
- every run of an open failure streak (a schedule with consecutive failures keeps the
  runs since its last success: they explain the streak and the pause);
- queued and running runs.
A pruned run takes its traces (and their spans) with it; audit rows and django-q2 task
rows older than the cut-off go too.
"""

import logging
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from scheduler_admin.engine.config import option
from scheduler_admin.models import AuditEntry, PruneLog, ScheduleRun, Span, Trace
from scheduler_admin.models.run import ACTIVE_STATUSES, RunStatus

log = logging.getLogger(__name__)

# One batch of 200 runs costs about 40 ms (benchmarks/tick_cost.py): small enough to
# sit in a tick without delaying the firings behind it.
BATCH = 200
# The loop prunes at most this many batches per tick, and comes back every
# PRUNE_EVERY, or on the next tick while a backlog remains.
BATCHES_PER_TICK = 1
PRUNE_EVERY = timedelta(minutes=10)


@dataclass
class Pruned:
    runs: int = 0
    traces: int = 0
    spans: int = 0
    audit_entries: int = 0
    tasks: int = 0

    def add(self, other: "Pruned") -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))


def prunable_runs(cutoff: datetime):
    """Runs queued before ``cutoff`` that no rule above keeps, oldest first."""
    newer = ScheduleRun.objects.filter(schedule_id=OuterRef("schedule_id"), pk__gt=OuterRef("pk"))
    later_success = newer.filter(status=RunStatus.SUCCESS)
    in_open_streak = Q(schedule__consecutive_failures__gt=0) & ~Exists(later_success)
    return (
        ScheduleRun.objects.filter(queued_at__lt=cutoff)
        .exclude(status__in=ACTIVE_STATUSES)
        .filter(Exists(newer))
        .exclude(in_open_streak)
        # By run_queued_at_idx: only old rows are visited, never the recent history.
        .order_by("queued_at", "pk")
    )


def prune(now: datetime, *, max_batches: int | None = None) -> Pruned:
    """Delete what is older than RUN_RETENTION_DAYS; at most ``max_batches`` batches of
    each kind (None: until done). Records a PruneLog row if anything went."""
    days = option("RUN_RETENTION_DAYS")
    pruned = Pruned()
    if not days:
        return pruned
    cutoff = now - timedelta(days=days)
    pruned.add(_in_batches(lambda: _prune_run_batch(cutoff), max_batches))
    pruned.add(_in_batches(lambda: _prune_audit_batch(cutoff), max_batches))
    pruned.add(_in_batches(lambda: _prune_task_batch(cutoff), max_batches))
    if pruned.total:
        PruneLog.objects.create(finished_at=timezone.now(), **vars(pruned))
        PruneLog.objects.filter(finished_at__lt=cutoff).delete()
        log.info("pruned history older than %s days: %s", days, pruned)
    return pruned


def _in_batches(batch, max_batches: int | None) -> Pruned:
    total, done = Pruned(), 0
    while max_batches is None or done < max_batches:
        step = batch()
        total.add(step)
        done += 1
        if not step.total:
            break
    return total


def _prune_run_batch(cutoff: datetime) -> Pruned:
    with transaction.atomic():
        rows = list(prunable_runs(cutoff).values_list("pk", "run_id")[:BATCH])
        if not rows:
            return Pruned()
        pks = [pk for pk, _ in rows]
        run_ids = [run_id for _, run_id in rows if run_id]
        traces = list(
            Trace.objects.filter(Q(schedule_run_id__in=pks) | Q(run_id__in=run_ids)).values_list(
                "pk", flat=True
            )
        )
        spans = Span.objects.filter(trace_id__in=traces).delete()[0]
        Trace.objects.filter(pk__in=traces).delete()
        runs = ScheduleRun.objects.filter(pk__in=pks).delete()[1].get(ScheduleRun._meta.label, 0)
    return Pruned(runs=runs, traces=len(traces), spans=spans)


def _prune_audit_batch(cutoff: datetime) -> Pruned:
    with transaction.atomic():
        pks = list(
            AuditEntry.objects.filter(created_at__lt=cutoff)
            .order_by("pk")
            .values_list("pk", flat=True)[:BATCH]
        )
        return Pruned(audit_entries=AuditEntry.objects.filter(pk__in=pks).delete()[0])


def _prune_task_batch(cutoff: datetime) -> Pruned:
    from django_q.models import Task

    with transaction.atomic():
        pks = list(
            Task.objects.filter(stopped__lt=cutoff)
            .order_by("stopped")
            .values_list("pk", flat=True)[:BATCH]
        )
        return Pruned(tasks=Task.objects.filter(pk__in=pks).delete()[0])


_next_prune_at: datetime | None = None


def prune_step(now: datetime) -> list[int]:
    """The loop's step: a few batches every PRUNE_EVERY, every tick while a backlog
    remains. Returns one entry per run pruned (the loop counts them)."""
    global _next_prune_at
    if _next_prune_at is not None and now < _next_prune_at:
        return []
    pruned = prune(now, max_batches=BATCHES_PER_TICK)
    backlog = pruned.runs >= BATCH * BATCHES_PER_TICK
    _next_prune_at = now if backlog else now + PRUNE_EVERY
    return [1] * pruned.runs


def retention_summary(now: datetime) -> dict:
    """For the dashboard: rows pruned in the last 24 h, the last pass, the oldest run kept."""
    from django.db.models import Max, Sum

    last_day = PruneLog.objects.filter(finished_at__gte=now - timedelta(hours=24)).aggregate(
        runs=Sum("runs"),
        other=Sum("traces") + Sum("spans") + Sum("audit_entries") + Sum("tasks"),
        last=Max("finished_at"),
    )
    oldest = ScheduleRun.objects.order_by("pk").values_list("queued_at", flat=True).first()
    return {
        "days": option("RUN_RETENTION_DAYS"),
        "runs_24h": last_day["runs"] or 0,
        "other_24h": last_day["other"] or 0,
        "last_pass": last_day["last"],
        "oldest_kept": oldest,
    }
