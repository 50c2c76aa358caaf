"""The dashboard: firings of the last 24 h by result, open incidents, failing
schedules with their last error, runs in flight, next fires (late ones marked)
and the last 24 h by hour.

It polls itself every 2 s (see views.live): one query and a 204 while no run was
added or ended. Relative times ("in 40 s", "late by 2 min") age, so it also renders
again every 30 s.
"""

from datetime import timedelta

from django.core.cache import cache
from django.shortcuts import render
from django.utils import timezone

from scheduler_admin.engine.retention import retention_summary
from scheduler_admin.models import Incident, RunStatus
from scheduler_admin.views import live, queries

REFRESH_S = 30
CHART_CACHE_S = 60


def _by_hour(now, since, floor) -> list[dict]:
    """The 24-hour chart's counts, computed at most once a minute per process: they
    scan a day of runs (100+ ms on a busy day), and an hourly chart does not need
    fresher numbers than that."""
    key = f"dashboard-by-hour-{now:%Y%m%d%H%M}"
    rows = cache.get(key)
    if rows is None:
        rows = queries.firings_by_hour(since, floor)
        cache.set(key, rows, CHART_CACHE_S)
    return rows


def dashboard(request):
    now = timezone.now()
    state = live.stamp([int(now.timestamp()) // REFRESH_S, *queries.dashboard_state()])
    if nothing_new := live.unchanged(request, state):
        return nothing_new
    since = now - timedelta(hours=24)
    floor = queries.first_pk_since(since)  # one index probe bounds both scans below
    by_status = queries.counts_by_status_since(since, floor)
    in_flight = list(queries.runs_in_flight())
    context = {
        "stamp": state,
        "by_status": [(s, by_status.get(s, 0)) for s in RunStatus.values if by_status.get(s)],
        "total_24h": sum(by_status.values()),
        "failing": queries.failing_schedules(),
        "in_flight": in_flight,
        "next_fires": queries.next_fires(),
        # Newest unresolved incidents (incident_status_idx); rarely more than a few.
        "incidents": list(Incident.objects.unresolved().order_by("-pk")[:6]),
        "by_hour": _by_hour(now, since, floor),
        "since": since,
        "retention": retention_summary(now),
        "now": now,
    }
    template = "dashboard.html#live" if request.htmx else "dashboard.html"
    return render(request, template, context)
