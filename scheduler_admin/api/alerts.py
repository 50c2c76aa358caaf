"""/api/alerts/: channels and incidents, readable by token; incidents can be
acknowledged. A channel's secrets never appear here: only the hint the console shows."""

from datetime import datetime

from django.http import HttpRequest, JsonResponse

from scheduler_admin.alerts import incidents
from scheduler_admin.api.http import ApiError, choice_param, int_param, json_response, path_id
from scheduler_admin.models import AlertChannel, Incident
from scheduler_admin.models.alerts import IncidentStatus


def _epoch(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value else None


def to_channel(channel: AlertChannel) -> dict:
    return {
        "id": str(channel.pk),
        "name": channel.name,
        "kind": channel.kind,
        "enabled": channel.enabled,
        "destination": ", ".join(channel.recipients)
        if channel.kind == "email"
        else channel.secret_hint,
        "kinds": channel.kinds,
        "remind_every_h": channel.remind_every_h,
    }


def to_incident(incident: Incident) -> dict:
    return {
        "id": str(incident.pk),
        "kind": incident.kind,
        "status": incident.status,
        "title": incident.title,
        "summary": incident.summary,
        "count": incident.count,
        "affected_schedules": incident.affected_schedules,
        "schedule_id": str(incident.schedule_id) if incident.schedule_id else None,
        "target": incident.target.name if incident.target_id else None,
        "last_run_id": str(incident.last_run_id) if incident.last_run_id else None,
        "opened_at": _epoch(incident.opened_at),
        "last_seen_at": _epoch(incident.last_seen_at),
        "acknowledged_at": _epoch(incident.acknowledged_at),
        "acknowledged_by": incident.acknowledged_by.get_username()
        if incident.acknowledged_by_id
        else None,
        "resolved_at": _epoch(incident.resolved_at),
        "resolution": incident.resolution,
    }


def channel_list(request: HttpRequest, user) -> JsonResponse:
    return json_response({"data": [to_channel(c) for c in AlertChannel.objects.order_by("name")]})


def incident_list(request: HttpRequest, user) -> JsonResponse:
    """Newest first; ``?status=open|acknowledged|resolved`` and ``?limit=``."""
    rows = Incident.objects.for_list()
    if status := choice_param(request, "status", IncidentStatus.values):
        rows = rows.filter(status=status)
    limit = int_param(request, "limit", 50, 1, 500)
    return json_response({"data": [to_incident(i) for i in rows[:limit]]})


def incident_detail(request: HttpRequest, user, incident_id: str) -> JsonResponse:
    return json_response(to_incident(_incident(incident_id)))


def incident_acknowledge(request: HttpRequest, user, incident_id: str) -> JsonResponse:
    """Acknowledge an open incident; 409 if it is already acknowledged or resolved."""
    incident = _incident(incident_id)
    if not incidents.acknowledge(incident, user):
        raise ApiError(409, f"Incident is {incident.status}, not open")
    return json_response(to_incident(_incident(incident_id)))


def _incident(incident_id: str) -> Incident:
    pk = path_id(incident_id, "Incident")
    try:
        return Incident.objects.for_list().get(pk=pk)
    except Incident.DoesNotExist:
        raise ApiError(404, "Incident not found") from None
