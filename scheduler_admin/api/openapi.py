"""The OpenAPI 3 description of /api/, written by hand and served at /api/openapi.json.

It is public: it describes the API and holds no data. Everything else needs a token.
"""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from scheduler_admin.api import openapi_alerts
from scheduler_admin.api.auth import bearer_user
from scheduler_admin.api.openapi_schemas import ref, schemas
from scheduler_admin.models import RunStatus, Target, Trigger


def _json(description: str, schema: str = "Error") -> dict:
    return {"description": description, "content": {"application/json": {"schema": ref(schema)}}}


_ERRORS = {
    "401": _json("Missing, invalid or revoked token"),
    "403": _json("Your role may not do this"),
}
_NOT_FOUND = {"404": _json("Not found")}
_INVALID = {"422": _json("Invalid input; one entry per problem", "ValidationError")}


def _ok(schema: str, description: str = "OK", status: str = "200") -> dict:
    return {status: _json(description, schema)}


_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any POST: the same request with the same key within 24 h gets the "
    "first answer again (Idempotent-Replayed: true) instead of doing the work twice",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
}


def _op(summary: str, responses: dict, *, params=(), body: str | None = None, req=False) -> dict:
    operation = {"summary": summary, "parameters": list(params), "responses": responses}
    if body:
        operation["requestBody"] = {
            "required": req,
            "content": {"application/json": {"schema": ref(body)}},
        }
    return operation


def _path(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name: str, schema: dict, description: str = "") -> dict:
    param = {"name": name, "in": "query", "required": False, "schema": schema}
    return param | ({"description": description} if description else {})


_PAGE = [
    _query("page", {"type": "integer", "minimum": 1, "default": 1}),
    _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}),
]
_SID, _RID = _path("schedule_id"), _path("run_id")


def _paths() -> dict:
    one = [_SID]
    conflict = {"409": _json("Conflict")}
    return {
        "/api/schedules": {
            "get": _op(
                "List schedules",
                _ok("ScheduleList") | _ERRORS | _INVALID,
                params=[_query("enabled", {"type": "boolean"}), *_PAGE],
            ),
            "post": _op(
                "Create a schedule",
                _ok("Schedule", "Created", "201")
                | _ERRORS
                | {"409": _json("A schedule with this name exists")}
                | _INVALID,
                body="ScheduleCreate",
                req=True,
            ),
        },
        "/api/schedules/{schedule_id}": {
            "get": _op("Get a schedule", _ok("Schedule") | _ERRORS | _NOT_FOUND, params=one),
            "patch": _op(
                "Change a schedule (only the fields sent)",
                _ok("Schedule")
                | _ERRORS
                | _NOT_FOUND
                | {"409": _json("A schedule with this name exists")}
                | _INVALID,
                params=one,
                body="ScheduleUpdate",
                req=True,
            ),
            "delete": _op(
                "Delete a schedule and its runs",
                {"204": {"description": "Deleted"}} | _ERRORS | _NOT_FOUND,
                params=one,
            ),
        },
        "/api/schedules/{schedule_id}/enable": {
            "post": _op("Enable", _ok("Schedule") | _ERRORS | _NOT_FOUND, params=one)
        },
        "/api/schedules/{schedule_id}/disable": {
            "post": _op("Disable", _ok("Schedule") | _ERRORS | _NOT_FOUND, params=one)
        },
        "/api/schedules/{schedule_id}/trigger": {
            "post": _op(
                "Queue a run now (answers at once with the queued run)",
                _ok("ScheduleRun")
                | _ERRORS
                | _NOT_FOUND
                | {"409": _json("The schedule is disabled")},
                params=one,
            )
        },
        "/api/schedules/{schedule_id}/runs": {
            "get": _op(
                "A schedule's runs, newest first",
                _ok("ScheduleRunList") | _ERRORS | _NOT_FOUND | _INVALID,
                params=[_SID, *_PAGE],
            )
        },
        "/api/schedules/{schedule_id}/runs/{run_id}": {
            "get": _op(
                "One run of a schedule",
                _ok("ScheduleRun") | _ERRORS | _NOT_FOUND,
                params=[_SID, _RID],
            )
        },
        "/api/runs": {
            "get": _op(
                "Run history across schedules (keyset paging, no total count)",
                _ok("RunHistory") | _ERRORS | _INVALID,
                params=[
                    _query("status", {"type": "string", "enum": RunStatus.values}),
                    _query("trigger", {"type": "string", "enum": Trigger.values}),
                    _query("schedule", {"type": "integer", "minimum": 1}, "Schedule id"),
                    _query("target", {"type": "string"}, "Target name"),
                    _query("since", {"type": "integer", "minimum": 0}, "Queued at or after"),
                    _query("until", {"type": "integer", "minimum": 0}, "Queued before"),
                    _query("q", {"type": "string"}, "Text in the error"),
                    _query("before", {"type": "integer", "minimum": 1}, "meta.next_before"),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
                ],
            )
        },
        "/api/runs/{run_id}/retry": {
            "post": _op(
                "Retry a run: a new attempt linked to it",
                _ok("ScheduleRun", "Created", "201") | _ERRORS | _NOT_FOUND | conflict | _INVALID,
                params=[_RID],
                body="RetryRequest",
            )
        },
        "/api/runs/{run_id}/cancel": {
            "post": _op(
                "Cancel a queued, waiting, held or running run (on its agent server too)",
                _ok("ScheduleRun") | _ERRORS | _NOT_FOUND | conflict,
                params=[_RID],
            )
        },
        "/api/runs/{run_id}/continue": {
            "post": _op(
                "Answer a run paused for a person (approve or reject, with the requested "
                "input); the agent server continues it and the run is followed to its end",
                _ok("ScheduleRun") | _ERRORS | _NOT_FOUND | conflict | _INVALID,
                params=[_RID],
                body="ContinueRequest",
                req=True,
            )
        },
        "/api/approvals": {
            "get": _op(
                "Runs waiting for a person, oldest first",
                _ok("ApprovalList") | _ERRORS,
            )
        },
        "/api/traces/{trace_id}": {
            "get": _op(
                "A trace with its span tree",
                _ok("TraceDetail") | _ERRORS | _NOT_FOUND,
                params=[_path("trace_id")],
            )
        },
        "/api/sessions/{session_id}": {
            "get": _op(
                "A session and the schedule runs that used it",
                _ok("Session") | _ERRORS | _NOT_FOUND,
                params=[_path("session_id")],
            )
        },
    }


def _with_post_rules(paths: dict) -> dict:
    """Every POST takes an Idempotency-Key; every body may be too large (413)."""
    too_large = _json("The body is larger than MAX_REQUEST_BYTES (1 MiB by default)")
    for operations in paths.values():
        for method, operation in operations.items():
            if "requestBody" in operation:
                operation["responses"].setdefault("413", too_large)
            if method == "post":
                operation["parameters"] = [*operation["parameters"], _IDEMPOTENCY_KEY]
                operation["responses"].setdefault("409", _json("Conflict"))
                operation["responses"].setdefault("422", _INVALID["422"])
    return paths


def build(target_names: list[str] | None = None) -> dict:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Agent scheduler API",
            "version": "1",
            "description": (
                "AgentOS-compatible /schedules API plus run history, retries, traces and "
                "sessions. Times are Unix seconds (trace times ISO 8601, as AgentOS). "
                "422 answers list problems as {loc, msg, type}."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal API token from /api/tokens/",
                }
            },
            "schemas": schemas(target_names) | openapi_alerts.schemas(),
        },
        "paths": _with_post_rules(
            _paths() | openapi_alerts.paths(_op, _ok, _ERRORS, _NOT_FOUND, _query, _path, _json)
        ),
    }


@login_not_required
@require_GET
def openapi_json(request: HttpRequest) -> JsonResponse:
    """Public; to a caller with a valid token it also lists the targets that exist
    (``target`` becomes an enum), so that every rule on a body is in the description."""
    names = None
    if bearer_user(request) is not None:
        names = list(Target.objects.order_by("name").values_list("name", flat=True))
    return JsonResponse(build(names))
