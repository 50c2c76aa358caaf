"""Incidents: the list and a page per incident (its runs, traces and every notification
sent about it); operators acknowledge or resolve from that page."""

from django.contrib import messages
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from scheduler_admin.alerts import incidents
from scheduler_admin.models import Incident, Trace
from scheduler_admin.models.alerts import IncidentStatus
from scheduler_admin.views.access import require

LIST_ROWS = 100
FILTERS = {
    "unresolved": {"resolved_at__isnull": True},
    "open": {"status": IncidentStatus.OPEN},
    "acknowledged": {"status": IncidentStatus.ACKNOWLEDGED},
    "resolved": {"status": IncidentStatus.RESOLVED},
    "all": {},
}


def incident_list(request):
    shown = request.GET.get("status", "unresolved")
    if shown not in FILTERS:
        shown = "unresolved"
    rows = list(Incident.objects.for_list().filter(**FILTERS[shown])[:LIST_ROWS])
    context = {"incidents": rows, "shown": shown, "filters": list(FILTERS)}
    if request.htmx:
        return render(request, "alerts/incident_list.html#rows", context)
    return render(request, "alerts/incident_list.html", context)


def incident_detail(request, pk: int):
    incident = get_object_or_404(
        Incident.objects.select_related("schedule", "target", "acknowledged_by", "resolved_by"),
        pk=pk,
    )
    runs = list(incident.runs.select_related("schedule").order_by("-pk")[:50])
    traces = {}
    for trace in Trace.objects.filter(schedule_run__in=runs).only("trace_id", "schedule_run_id"):
        traces.setdefault(trace.schedule_run_id, trace.trace_id)
    for run in runs:
        run.trace_id = traces.get(run.pk)
    notifications = (
        incident.notifications.select_related("channel")
        .prefetch_related("delivery_attempts")
        .order_by("pk")
    )
    context = {"incident": incident, "runs": runs, "notifications": notifications}
    return render(request, "alerts/incident_detail.html", context)


@require_POST
@require("acknowledge")
def incident_action(request, pk: int):
    """One view, two named buttons: acknowledge and resolve."""
    incident = get_object_or_404(Incident, pk=pk)
    if "acknowledge" in request.POST:
        done = incidents.acknowledge(incident, request.user)
        said = "Acknowledged." if done else "Already acknowledged or resolved."
    elif "resolve" in request.POST:
        done = incidents.resolve_by_hand(incident, request.user)
        said = "Resolved." if done else "Already resolved."
    else:
        return HttpResponseBadRequest("Say acknowledge or resolve.")
    (messages.success if done else messages.info)(request, said)
    return redirect("incident_detail", pk=incident.pk)
