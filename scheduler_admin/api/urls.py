"""Mounted at /api/. JSON endpoints authenticate by bearer token; /api/tokens/ are the
HTML pages (session login, CSRF) where people create and revoke their tokens."""

from django.urls import path

from scheduler_admin.api import alerts, openapi, runs, schedules, token_views, traces
from scheduler_admin.api.http import endpoint

urlpatterns = [
    path("openapi.json", openapi.openapi_json, name="api_openapi"),
    path(
        "schedules",
        endpoint(
            GET=(schedules.schedule_list, "view"),
            POST=(schedules.schedule_create, "create"),
        ),
        name="api_schedule_list",
    ),
    path(
        "schedules/<str:schedule_id>",
        endpoint(
            GET=(schedules.schedule_detail, "view"),
            PATCH=(schedules.schedule_update, "edit"),
            DELETE=(schedules.schedule_delete, "delete"),
        ),
        name="api_schedule_detail",
    ),
    path(
        "schedules/<str:schedule_id>/enable",
        endpoint(POST=(schedules.schedule_enable, "enable")),
        name="api_schedule_enable",
    ),
    path(
        "schedules/<str:schedule_id>/disable",
        endpoint(POST=(schedules.schedule_disable, "disable")),
        name="api_schedule_disable",
    ),
    path(
        "schedules/<str:schedule_id>/trigger",
        endpoint(POST=(schedules.schedule_trigger, "trigger")),
        name="api_schedule_trigger",
    ),
    path(
        "schedules/<str:schedule_id>/runs",
        endpoint(GET=(schedules.schedule_runs, "view")),
        name="api_schedule_runs",
    ),
    path(
        "schedules/<str:schedule_id>/runs/<str:run_id>",
        endpoint(GET=(schedules.schedule_run_detail, "view")),
        name="api_schedule_run_detail",
    ),
    path("runs", endpoint(GET=(runs.run_list, "view")), name="api_run_list"),
    path(
        "runs/<str:run_id>/retry",
        endpoint(POST=(runs.run_retry, "retry")),
        name="api_run_retry",
    ),
    path(
        "runs/<str:run_id>/cancel",
        endpoint(POST=(runs.run_cancel, "cancel")),
        name="api_run_cancel",
    ),
    path(
        "runs/<str:run_id>/continue",
        endpoint(POST=(runs.run_continue, "answer")),
        name="api_run_continue",
    ),
    path("approvals", endpoint(GET=(runs.approval_list, "view")), name="api_approval_list"),
    path(
        "traces/<path:trace_id>",
        endpoint(GET=(traces.trace_detail, "view")),
        name="api_trace_detail",
    ),
    path(
        "sessions/<path:session_id>",
        endpoint(GET=(traces.session_detail, "view")),
        name="api_session_detail",
    ),
    path(
        "alerts/channels",
        endpoint(GET=(alerts.channel_list, "view")),
        name="api_alert_channel_list",
    ),
    path(
        "alerts/incidents",
        endpoint(GET=(alerts.incident_list, "view")),
        name="api_incident_list",
    ),
    path(
        "alerts/incidents/<str:incident_id>",
        endpoint(GET=(alerts.incident_detail, "view")),
        name="api_incident_detail",
    ),
    path(
        "alerts/incidents/<str:incident_id>/acknowledge",
        endpoint(POST=(alerts.incident_acknowledge, "acknowledge")),
        name="api_incident_acknowledge",
    ),
    path("tokens/", token_views.token_list, name="api_token_list"),
    path("tokens/<int:token_id>/revoke", token_views.token_revoke, name="api_token_revoke"),
]
