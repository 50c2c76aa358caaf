"""A schedule's alert overrides: after how many failed firings it alerts, muted, and
which channels hear about it. Everyone reads; admins change."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render

from scheduler_admin.alerts.forms import ScheduleAlertRuleForm
from scheduler_admin.alerts.rules import rule_for
from scheduler_admin.models import Incident, Schedule
from scheduler_admin.roles import can


def schedule_alerts(request, pk: int):
    schedule = get_object_or_404(Schedule, pk=pk)
    if request.method == "POST" and not can(request.user, "manage_alerts"):
        raise PermissionDenied("Your role does not allow: manage_alerts.")
    form = ScheduleAlertRuleForm(request.POST or None, instance=rule_for(schedule))
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Saved the alert settings of {schedule.name}.")
        return redirect("schedule_alerts", pk=schedule.pk)
    context = {
        "schedule": schedule,
        "form": form,
        "incidents": Incident.objects.filter(schedule=schedule).order_by("-pk")[:20],
    }
    return render(
        request, "alerts/schedule_alerts.html", context, status=400 if form.errors else 200
    )
