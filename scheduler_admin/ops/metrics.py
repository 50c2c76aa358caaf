"""Prometheus metrics, derived from the database at scrape time.

Why from the database rather than counters in each process: the work happens in other
processes (the scheduler, django-q2 workers, maybe on other machines) than the one that
answers /metrics, and gunicorn runs several web workers. Rows are the one place every
process writes, so any web worker on any machine answers the same numbers, nothing
resets when a process restarts, and no multiprocess directory has to be shared. The
cost is a handful of indexed queries per scrape (docs/deploy.md, "Metrics", measured).

Counts of *recent* activity (fire lag, runs by status, retries, worker lost) cover the
runs queued in the last ``METRICS_WINDOW_S`` seconds (found through the queued_at
index), so a scrape costs the same on a table of a thousand or a million runs. Query
them as gauges: ``scheduler_runs_recent{status="failed"}``, and
``histogram_quantile(0.99, sum by (le) (scheduler_fire_lag_seconds_bucket))``.
"""

import time
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector, CollectorRegistry

from scheduler_admin.models import Heartbeat, RunStatus, Schedule, ScheduleRun, Trigger

# Seconds; the goal is p99 <= 1 s (README, "Measured"), so most buckets sit below 5 s.
FIRE_LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
# A window of more runs than this is counted on its newest runs only.
MAX_WINDOW_ROWS = 100_000


class DatabaseCollector(Collector):
    """Yields every metric family from a few queries; registered per scrape."""

    def collect(self):
        started = time.monotonic()
        now = timezone.now()
        window_s = settings.OPS["METRICS_WINDOW_S"]
        yield from in_flight_metrics()
        yield from queue_metrics(now)
        yield from schedule_metrics()
        yield from heartbeat_metrics(now)
        yield from recent_metrics(now - timedelta(seconds=window_s), window_s)
        yield from alert_metrics(now - timedelta(seconds=window_s), window_s)
        yield GaugeMetricFamily(
            "scheduler_metrics_collect_seconds",
            "Time this scrape spent querying the database.",
            value=time.monotonic() - started,
        )


def alert_metrics(since, window_s: int) -> list[Metric]:
    """Alert notifications created in the window, by channel kind and delivery status
    (pending, sending, sent, failed): a failing channel shows as failed deliveries."""
    from scheduler_admin.models import Notification

    family = GaugeMetricFamily(
        "scheduler_alert_deliveries_recent",
        f"Alert notifications created in the last {window_s} s, by channel kind and status.",
        labels=["channel_kind", "status"],
    )
    rows = (
        Notification.objects.filter(created_at__gte=since)
        .values_list("channel__kind", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for kind, status, count in rows:
        family.add_metric([kind, status], count)
    return [family]


def render(accept: str) -> tuple[bytes, str]:
    """Every metric, in the format the scraper asked for (Prometheus text, or OpenMetrics
    for a Prometheus that accepts it); returns (body, content type)."""
    encoder, content_type = choose_encoder(accept)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector())
    return encoder(registry), content_type


def in_flight_metrics() -> list[Metric]:
    family = GaugeMetricFamily(
        "scheduler_runs_in_flight",
        "Runs queued or running now, by status and target.",
        labels=["status", "target"],
    )
    rows = (
        ScheduleRun.objects.active()
        .values_list("status", "schedule__target__name")
        .annotate(n=Count("pk"))
        .order_by()
    )
    seen = {(status, target): n for status, target, n in rows}
    for status in (RunStatus.QUEUED, RunStatus.RUNNING):
        if not any(s == status for s, _ in seen):
            seen[(status, "")] = 0  # a series that exists at zero alerts better than none
    for (status, target), n in sorted(seen.items()):
        family.add_metric([str(status), target], n)
    return [family]


def queue_metrics(now) -> list[Metric]:
    """Queued runs by where they wait: for their time (retries), for a worker, for the
    run before them (buffer_one), or in the broker."""
    counts = ScheduleRun.objects.filter(status=RunStatus.QUEUED).aggregate(
        waiting=Count("pk", filter=Q(not_before__gt=now, held_for_overlap=False)),
        held=Count("pk", filter=Q(held_for_overlap=True)),
        ready=Count(
            "pk",
            filter=Q(not_before__lte=now, dispatched_at__isnull=True, held_for_overlap=False),
        ),
        in_broker=Count("pk", filter=Q(dispatched_at__isnull=False)),
    )
    family = GaugeMetricFamily(
        "scheduler_queue_depth",
        "Queued runs by state: waiting (not_before ahead), ready (due, not yet sent), "
        "in_broker (sent, no worker started it yet), held (behind a running run).",
        labels=["state"],
    )
    for state in ("waiting", "ready", "in_broker", "held"):
        family.add_metric([state], counts[state] or 0)
    oldest = (
        ScheduleRun.objects.filter(status=RunStatus.QUEUED, not_before__lte=now)
        .order_by("not_before")
        .values_list("not_before", flat=True)
        .first()
    )
    wait = GaugeMetricFamily(
        "scheduler_queue_oldest_wait_seconds",
        "How long the longest-waiting due run has been queued (0 when none).",
        value=(now - oldest).total_seconds() if oldest else 0.0,
    )
    return [family, wait]


def schedule_metrics() -> list[Metric]:
    # Keys unlike the field names: Django refuses an aggregate named after a field.
    counts = Schedule.objects.aggregate(
        n_enabled=Count("pk", filter=Q(enabled=True)),
        n_paused=Count("pk", filter=Q(enabled=False) & ~Q(paused_reason="")),
        n_disabled=Count("pk", filter=Q(enabled=False, paused_reason="")),
    )
    family = GaugeMetricFamily(
        "scheduler_schedules",
        "Schedules by state (paused: disabled by the failure policy or an expression "
        "with no further fire time).",
        labels=["state"],
    )
    for state in ("enabled", "paused", "disabled"):
        family.add_metric([state], counts[f"n_{state}"] or 0)
    return [family]


def heartbeat_metrics(now) -> list[Metric]:
    age = GaugeMetricFamily(
        "scheduler_heartbeat_age_seconds",
        "Seconds since a process of this kind last completed a loop pass "
        "(stored every HEARTBEAT_EVERY_S).",
        labels=["process"],
    )
    passes = GaugeMetricFamily(
        "scheduler_tick_passes",
        "Loop passes between the last two stored heartbeats.",
        labels=["process"],
    )
    slowest = GaugeMetricFamily(
        "scheduler_tick_duration_max_seconds",
        "Slowest loop pass between the last two stored heartbeats.",
        labels=["process"],
    )
    last = GaugeMetricFamily(
        "scheduler_tick_duration_seconds",
        "Duration of the loop pass that stored the last heartbeat.",
        labels=["process"],
    )
    for beat in Heartbeat.objects.all():
        age.add_metric([beat.name], (now - beat.beat_at).total_seconds())
        passes.add_metric([beat.name], beat.passes)
        slowest.add_metric([beat.name], beat.max_pass_ms / 1000)
        last.add_metric([beat.name], beat.last_pass_ms / 1000)
    return [age, passes, slowest, last]


def recent_metrics(since, window_s: int) -> list[Metric]:
    """Runs queued since ``since``: by status and target, retries, worker lost, fire lag."""
    rows = (
        ScheduleRun.objects.filter(queued_at__gte=since)
        .order_by("-queued_at")
        .values_list(
            "status",
            "schedule__target__name",
            "trigger",
            "attempt",
            "scheduled_for",
            "request_sent_at",
            "error",
        )[:MAX_WINDOW_ROWS]
    )
    by_status: Counter = Counter()
    retries = lost = 0
    lags = []
    # A plain fetch, not .iterator(): server-side cursors break behind PgBouncer.
    for status, target, trigger, attempt, scheduled_for, sent_at, error in rows:
        by_status[(status, target)] += 1
        retries += trigger == Trigger.RETRY
        lost += status == RunStatus.FAILED and error.startswith("worker lost")
        # Fire lag: how late a cron firing reached the agent server.
        if trigger == Trigger.SCHEDULE and attempt == 1 and sent_at is not None:
            lags.append((sent_at - scheduled_for).total_seconds())
    window = f"queued in the last {window_s} s"
    runs = GaugeMetricFamily(
        "scheduler_runs_recent",
        f"Runs {window}, by their status now and target.",
        labels=["status", "target"],
    )
    for (status, target), n in sorted(by_status.items()):
        runs.add_metric([status, target], n)
    return [
        runs,
        GaugeMetricFamily("scheduler_retries_recent", f"Retry attempts {window}.", value=retries),
        GaugeMetricFamily(
            "scheduler_worker_lost_recent",
            f"Runs {window} closed as 'worker lost' (a worker died holding them).",
            value=lost,
        ),
        fire_lag_histogram(lags, window),
    ]


def fire_lag_histogram(lags: list[float], window: str) -> Metric:
    buckets = [(repr(bound), sum(1 for lag in lags if lag <= bound)) for bound in FIRE_LAG_BUCKETS]
    buckets.append(("+Inf", len(lags)))
    return GaugeHistogramMetricFamily(
        "scheduler_fire_lag_seconds",
        f"Request sent minus scheduled time, first attempts of cron firings {window}.",
        buckets=buckets,
        gsum_value=sum(lags),
    )
