"""The OpenAPI description of /api/alerts/ (merged into openapi.py's)."""

from scheduler_admin.api.openapi_schemas import ref
from scheduler_admin.models.alerts import ChannelKind, IncidentKind, IncidentStatus

_EPOCH = {"type": "integer", "nullable": True, "description": "Unix time, seconds"}
_ID = {"type": "string", "nullable": True}


def paths(op, ok, errors: dict, not_found: dict, query, path, json) -> dict:
    incident_id = [path("incident_id")]
    return {
        "/api/alerts/channels": {
            "get": op("List alert channels (secrets never included)", ok("ChannelList") | errors)
        },
        "/api/alerts/incidents": {
            "get": op(
                "List incidents, newest first",
                ok("IncidentList") | errors | {"422": json("Invalid input", "ValidationError")},
                params=[
                    query("status", {"type": "string", "enum": IncidentStatus.values}),
                    query("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
                ],
            )
        },
        "/api/alerts/incidents/{incident_id}": {
            "get": op("An incident", ok("Incident") | errors | not_found, params=incident_id)
        },
        "/api/alerts/incidents/{incident_id}/acknowledge": {
            "post": op(
                "Acknowledge an open incident",
                ok("Incident")
                | errors
                | not_found
                | {"409": json("Already acknowledged or resolved")},
                params=incident_id,
            )
        },
    }


def schemas() -> dict:
    incident = {
        "type": "object",
        "required": ["id", "kind", "status", "title", "count", "opened_at"],
        "properties": {
            "id": {"type": "string"},
            "kind": {"type": "string", "enum": IncidentKind.values},
            "status": {"type": "string", "enum": IncidentStatus.values},
            "title": {"type": "string"},
            "summary": {"type": "string"},
            "count": {"type": "integer"},
            "affected_schedules": {"type": "integer"},
            "schedule_id": _ID,
            "target": _ID,
            "last_run_id": _ID,
            "opened_at": _EPOCH,
            "last_seen_at": _EPOCH,
            "acknowledged_at": _EPOCH,
            "acknowledged_by": _ID,
            "resolved_at": _EPOCH,
            "resolution": {"type": "string"},
        },
    }
    channel = {
        "type": "object",
        "required": ["id", "name", "kind", "enabled"],
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "kind": {"type": "string", "enum": ChannelKind.values},
            "enabled": {"type": "boolean"},
            "destination": {"type": "string", "description": "Recipients, or a URL hint"},
            "kinds": {"type": "array", "items": {"type": "string", "enum": IncidentKind.values}},
            "remind_every_h": {"type": "integer", "nullable": True},
        },
    }
    return {
        "Incident": incident,
        "IncidentList": {
            "type": "object",
            "required": ["data"],
            "properties": {"data": {"type": "array", "items": ref("Incident")}},
        },
        "Channel": channel,
        "ChannelList": {
            "type": "object",
            "required": ["data"],
            "properties": {"data": {"type": "array", "items": ref("Channel")}},
        },
    }
