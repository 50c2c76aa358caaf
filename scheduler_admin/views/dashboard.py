"""The dashboard: runs of the last 24 h by status, runs in flight, next fires."""

from datetime import timedelta

from django.db.models import Count
from django.shortcuts import render
from django.utils import timezone

from scheduler_admin.models import Schedule, ScheduleRun


def dashboard(request):
    since = timezone.now() - timedelta(hours=24)
    by_status = dict(
        ScheduleRun.objects.filter(queued_at__gte=since)
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    in_flight = ScheduleRun.objects.active().select_related("schedule").order_by("-pk")[:20]
    next_fires = Schedule.objects.filter(enabled=True, next_run_at__isnull=False).order_by(
        "next_run_at"
    )[:10]
    return render(
        request,
        "dashboard.html",
        {"by_status": by_status, "in_flight": in_flight, "next_fires": next_fires},
    )
