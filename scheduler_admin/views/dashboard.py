"""The dashboard: last 24 h by status, open incidents, failing schedules, runs in
flight, next fires and a timeline of recent runs."""

from datetime import timedelta

from django.shortcuts import render
from django.utils import timezone

from scheduler_admin.engine.retention import retention_summary
from scheduler_admin.models import Incident, RunStatus
from scheduler_admin.views import queries


def dashboard(request):
    now = timezone.now()
    since = now - timedelta(hours=24)
    floor = queries.first_pk_since(since)  # one index probe bounds both scans below
    by_status = queries.counts_by_status_since(since, floor)
    in_flight = list(queries.runs_in_flight())
    context = {
        "by_status": [(s, by_status.get(s, 0)) for s in RunStatus.values if by_status.get(s)],
        "total_24h": sum(by_status.values()),
        "failing": queries.failing_schedules(),
        "in_flight": in_flight,
        "next_fires": queries.next_fires(),
        # Newest unresolved incidents (incident_status_idx); rarely more than a few.
        "incidents": list(Incident.objects.unresolved().order_by("-pk")[:6]),
        "timeline_runs": queries.timeline_runs(since, floor),
        "timeline_start": since,
        "retention": retention_summary(now),
        "now": now,
    }
    template = "dashboard.html#live" if request.htmx else "dashboard.html"
    return render(request, template, context)
