"""Named querysets for the console's pages (one function per page need).

Kept beside the views rather than on the models: they shape what a page shows
(select_related, only, limits) and change with the pages.
"""

from collections import defaultdict
from datetime import datetime, timedelta
from typing import NamedTuple

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Substr

from scheduler_admin.models import AuditEntry, RunStatus, Schedule, ScheduleRun, Trace
from scheduler_admin.models.run import ACTIVE_STATUSES, FAILED_STATUSES

STRIP_FIRINGS = 50  # firings in a schedule's history strip

# Columns a run row shows; the big JSON fields (input, output) stay in the table.
RUN_ROW_FIELDS = (
    "pk",
    "schedule_id",
    "schedule__name",
    "schedule__target__name",
    "attempt",
    "scheduled_for",
    "trigger",
    "status",
    "queued_at",
    "started_at",
    "completed_at",
    "duration_ms",
    "status_code",
    "run_id",
    "session_id",
    "error",
    "retry_of_id",
    "stage",
)


def retried() -> Exists:
    """True for a run that has a retry: an earlier attempt, not its firing's last word.

    Served by the index Django puts on the retry_of foreign key.
    """
    return Exists(ScheduleRun.objects.filter(retry_of=OuterRef("pk")))


def run_rows() -> QuerySet:
    """Runs with their schedule and target names, ready for a table row, each with
    ``retried`` (see retried()) so a row knows whether Retry would be refused."""
    return (
        ScheduleRun.objects.select_related("schedule__target")
        .only(*RUN_ROW_FIELDS)
        .annotate(retried=retried())
    )


def firings(qs: QuerySet) -> QuerySet:
    """One row per scheduled firing: its latest attempt (the one nobody retried).

    Attempts of a firing form a chain through retry_of, so the attempt without a
    retry carries the firing's final (or current) result.
    """
    return qs.filter(~Exists(ScheduleRun.objects.filter(retry_of=OuterRef("pk"))))


def first_pk_since(since: datetime) -> int | None:
    """The smallest pk among runs queued since ``since``, found via run_queued_at_idx.

    Every run queued since then has a pk at least this large, so the bound narrows
    later scans to the recent end of the table without changing their result.
    """
    return (
        ScheduleRun.objects.filter(queued_at__gte=since)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )


def counts_by_status_since(since: datetime, floor: int | None) -> dict[str, int]:
    """Firings whose latest attempt was queued since ``since``, by that attempt's
    status; ``floor`` is first_pk_since(since). "failed 5" means five firings that
    ended failed, not five attempts of firings that recovered.

    One COUNT per status in a single row rather than GROUP BY status: with GROUP BY,
    SQLite walks the whole run_status_idx (every run ever) to get groups in order;
    without it, it reads only the pk range of the last day.
    """
    if floor is None:
        return {}
    counts = firings(ScheduleRun.objects.filter(pk__gte=floor, queued_at__gte=since)).aggregate(
        **{status: Count("pk", filter=Q(status=status)) for status in RunStatus.values}
    )
    return {status: n for status, n in counts.items() if n}


def failing_schedules(limit: int = 20) -> QuerySet:
    """Enabled schedules whose last firings failed, and paused ones (a schedule
    someone disabled is not failing: nobody expects it to run). Each carries its
    latest failed run (``last_failed_pk``, ``last_error``) and ``failing_since``: when
    the first failure after its last success was queued.
    """
    runs = ScheduleRun.objects.filter(schedule=OuterRef("pk"))
    last_failed = runs.filter(status__in=FAILED_STATUSES).order_by("-pk")
    last_ok = ScheduleRun.objects.filter(
        schedule=OuterRef(OuterRef("pk")), status=RunStatus.SUCCESS
    ).order_by("-pk")
    streak_start = runs.filter(
        status__in=FAILED_STATUSES,
        pk__gt=Coalesce(Subquery(last_ok.values("pk")[:1]), 0),
    ).order_by("pk")
    return (
        Schedule.objects.filter(Q(enabled=True, consecutive_failures__gt=0) | ~Q(paused_reason=""))
        .select_related("target")
        .annotate(
            last_failed_pk=Subquery(last_failed.values("pk")[:1]),
            last_error=Subquery(last_failed.values("error")[:1]),
            failing_since=Subquery(streak_start.values("queued_at")[:1]),
        )
        .order_by("-consecutive_failures", "name")[:limit]
    )


def dashboard_state() -> list[tuple]:
    """What the live dashboard depends on, in one query: the newest run and every
    run in flight. A new firing or a run that ends changes it. Both branches of the
    OR are index lookups (the pk, run_status_idx), which SQLite and PostgreSQL
    combine (multi-index OR, BitmapOr) rather than scan the table.
    """
    newest = ScheduleRun.objects.order_by("-pk").values("pk")[:1]
    return list(
        ScheduleRun.objects.filter(Q(status__in=ACTIVE_STATUSES) | Q(pk=Subquery(newest)))
        .order_by("pk")
        .values_list("pk", "status")
    )


def runs_in_flight(limit: int = 20) -> QuerySet:
    return (
        run_rows().filter(status__in=(RunStatus.QUEUED, RunStatus.RUNNING)).order_by("-pk")[:limit]
    )


def next_fires(limit: int = 10) -> QuerySet:
    # Served by schedule_due_idx (next_run_at WHERE enabled).
    return (
        Schedule.objects.filter(enabled=True, next_run_at__isnull=False)
        .select_related("target")
        .order_by("next_run_at")[:limit]
    )


DAY_KINDS = {"ok": (RunStatus.SUCCESS,), "bad": FAILED_STATUSES}  # the rest is "other"


def firings_by_hour(since: datetime, floor: int | None, hours: int = 24) -> list[dict]:
    """Firings whose latest attempt was queued in each of the last ``hours`` whole
    hours (the current one last), by kind: {"hour", "ok", "bad", "other"}.

    One row of conditional COUNTs over the same pk-bounded range as
    counts_by_status_since: plain comparisons on queued_at, so no per-row date
    function (SQLite's TruncHour is a Python call per row).
    """
    end = since + timedelta(hours=hours)
    top = end.replace(minute=0, second=0, microsecond=0)
    starts = [top - timedelta(hours=hours - 1 - i) for i in range(hours)]
    if floor is None:
        return [{"hour": h, "ok": 0, "bad": 0, "other": 0} for h in starts]
    counts = {}
    for i, start in enumerate(starts):
        in_hour = Q(queued_at__gte=start, queued_at__lt=start + timedelta(hours=1))
        for kind, statuses in DAY_KINDS.items():
            counts[f"{kind}_{i}"] = Count("pk", filter=in_hour & Q(status__in=statuses))
        counts[f"all_{i}"] = Count("pk", filter=in_hour)
    row = firings(ScheduleRun.objects.filter(pk__gte=floor, queued_at__gte=starts[0])).aggregate(
        **counts
    )
    return [
        {
            "hour": start,
            "ok": row[f"ok_{i}"],
            "bad": row[f"bad_{i}"],
            "other": row[f"all_{i}"] - row[f"ok_{i}"] - row[f"bad_{i}"],
        }
        for i, start in enumerate(starts)
    ]


FAILURES_SCAN_CAP = 5000  # failed firings the failures page groups, newest first


def failed_firings_since(since: datetime, floor: int | None) -> list[tuple]:
    """Firings queued since ``since`` whose latest attempt failed or timed out,
    newest first, at most FAILURES_SCAN_CAP, as (pk, schedule_id, schedule name,
    target name, error's first 500 characters, queued_at). The pk range from
    first_pk_since bounds the scan; run_status_idx serves the status filter.
    """
    if floor is None:
        return []
    return list(
        firings(
            ScheduleRun.objects.filter(
                pk__gte=floor, queued_at__gte=since, status__in=FAILED_STATUSES
            )
        )
        .order_by("-pk")
        .values_list(
            "pk",
            "schedule_id",
            "schedule__name",
            "schedule__target__name",
            Substr("error", 1, 500),
            "queued_at",
        )[:FAILURES_SCAN_CAP]
    )


# --- schedules list ----------------------------------------------------------


def schedules_for_list(params) -> QuerySet:
    """Filtered by ?q (name), ?enabled, ?paused, ?failing, ?target; sorted by name.

    Each schedule carries ``strip_floor``: the pk of its 50th newest firing, so the
    history strips of a whole page come in one query (see strip_runs).
    """
    qs = Schedule.objects.select_related("target")
    if q := params.get("q", "").strip():
        qs = qs.filter(name__icontains=q)
    if (enabled := params.get("enabled")) in ("yes", "no"):
        qs = qs.filter(enabled=enabled == "yes")
    if params.get("paused") == "yes":
        qs = qs.exclude(paused_reason="")
    if params.get("failing") == "yes":
        qs = qs.filter(consecutive_failures__gt=0)
    if target := params.get("target", "").strip():
        qs = qs.filter(target__name=target)
    floor = (
        firings(ScheduleRun.objects.filter(schedule_id=OuterRef("pk")))
        .order_by("-pk")
        .values("pk")[STRIP_FIRINGS - 1 : STRIP_FIRINGS]
    )
    return qs.annotate(
        strip_floor=Coalesce(Subquery(floor, output_field=IntegerField()), 0)
    ).order_by("name", "pk")


class StripRun(NamedTuple):
    """A firing in a history strip: its latest attempt."""

    pk: int
    status: str
    attempt: int
    queued_at: datetime


_STRIP_FIELDS = ("schedule_id", "pk", "status", "attempt", "queued_at")


def strip_runs(schedules) -> dict[int, list[StripRun]]:
    """The last 50 firings of each schedule, oldest first, in ONE query for the page.

    Each branch of the OR is a range on run_schedule_idx (schedule_id, -id). Plain
    tuples, not model instances: a page holds up to 2,500 of them.
    """
    schedules = list(schedules)
    if not schedules:
        return {}
    cond = Q()
    for s in schedules:
        cond |= Q(schedule_id=s.pk, pk__gte=s.strip_floor)
    runs = defaultdict(list)
    rows = firings(ScheduleRun.objects.filter(cond)).order_by("pk").values_list(*_STRIP_FIELDS)
    for schedule_id, *fields in rows:
        runs[schedule_id].append(StripRun(*fields))
    return runs


def schedule_strip(schedule_id: int) -> list[StripRun]:
    """One schedule's last 50 firings, oldest first (run_schedule_idx)."""
    rows = (
        firings(ScheduleRun.objects.filter(schedule_id=schedule_id))
        .order_by("-pk")
        .values_list(*_STRIP_FIELDS[1:])[:STRIP_FIRINGS]
    )
    return [StripRun(*fields) for fields in reversed(rows)]


# --- runs list ---------------------------------------------------------------


def runs_for_list(params) -> QuerySet:
    """Filtered by ?status, ?schedule (pk as schedule_id, or its name as
    schedule_name), ?target (name),
    ?trigger, ?since/?until (queued_at, parsed as since_dt/until_dt), ?q (in errors).
    runs._filters parses the query string; the caller pages by pk (paging.keyset_page)."""
    qs = run_rows()
    if (status := params.get("status")) in RunStatus.values:
        qs = qs.filter(status=status)
    if (schedule_id := params.get("schedule_id")) is not None:
        qs = qs.filter(schedule_id=schedule_id)
    elif name := params.get("schedule_name"):
        qs = qs.filter(schedule__name=name)
    if target := params.get("target", "").strip():
        qs = qs.filter(schedule__target__name=target)
    if trigger := params.get("trigger", "").strip():
        qs = qs.filter(trigger=trigger)
    if since := params.get("since_dt"):
        qs = qs.filter(queued_at__gte=since)
    if until := params.get("until_dt"):
        qs = qs.filter(queued_at__lt=until)
    if q := params.get("q", "").strip():
        qs = qs.filter(error__icontains=q)
    return qs


def attempts_of(run: ScheduleRun) -> QuerySet:
    """Every attempt of the run's scheduled time (retries share scheduled_for)."""
    return (
        ScheduleRun.objects.filter(schedule_id=run.schedule_id, scheduled_for=run.scheduled_for)
        .only("pk", "attempt", "status", "trigger", "queued_at", "retry_of_id", "error")
        .order_by("attempt", "pk")
    )


def firing_state(pk: int) -> list[tuple]:
    """What the live run page shows of run ``pk``'s firing, in ONE query: each
    attempt's status, ids, completion and whether it has a trace yet.

    The firing is found through subqueries on the run's own row, and its attempts
    through the (schedule, scheduled_for, attempt) unique index.
    """
    run = ScheduleRun.objects.filter(pk=pk)
    return list(
        ScheduleRun.objects.filter(
            schedule_id=Subquery(run.values("schedule_id")),
            scheduled_for=Subquery(run.values("scheduled_for")),
        )
        .annotate(traced=Exists(Trace.objects.filter(schedule_run=OuterRef("pk"))))
        .order_by("attempt", "pk")
        .values_list("pk", "status", "stage", "run_id", "session_id", "completed_at", "traced")
    )


def schedule_history_state(schedule_id: int, size: int) -> list[tuple]:
    """What the live history of a schedule shows: its newest ``size`` runs' status and
    ids, in one query on run_schedule_idx."""
    return list(
        ScheduleRun.objects.filter(schedule_id=schedule_id)
        .order_by("-pk")
        .values_list("pk", "status", "run_id", "duration_ms")[:size]
    )


def trace_state(trace_id: str) -> list:
    """What the live trace page shows, in one query: how many traces its run has,
    how many spans they hold and how many of those ended."""
    linked = Trace.objects.filter(trace_id=trace_id, schedule_run__isnull=False)
    counts = Trace.objects.filter(
        Q(trace_id=trace_id) | Q(schedule_run_id=Subquery(linked.values("schedule_run_id")[:1]))
    ).aggregate(
        n_traces=Count("pk", distinct=True),
        n_spans=Count("spans"),
        n_ended=Count("spans__end_time"),
    )
    return [counts["n_traces"], counts["n_spans"], counts["n_ended"]]


def trace_state_of(traces: list, spans: list) -> list:
    """trace_state's numbers from traces and spans already loaded."""
    return [len(traces), len(spans), sum(s.end_time is not None for s in spans)]


def audit_rows() -> QuerySet:
    return AuditEntry.objects.only(
        "pk",
        "actor_name",
        "action",
        "schedule_id",
        "schedule_name",
        "run_id",
        "changes",
        "note",
        "created_at",
    )
