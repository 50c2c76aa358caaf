"""Component schemas of the OpenAPI description (see openapi.py): AgentOS's field names
and our own, with the value ranges the validators enforce."""

import zoneinfo

from scheduler_admin.models import (
    CatchUpPolicy,
    HttpMethod,
    OverlapPolicy,
    PauseTimeoutAction,
    RunStage,
    RunStatus,
    Trigger,
)
from scheduler_admin.validators import LIMITS, PAYLOAD_MAX_DEPTH

# Text PostgreSQL can store: no NUL anywhere (validators.validate_text, validate_payload).
NO_NUL = "^[^\\u0000]*$"
# A path of non-empty segments: never a URL ("://"), never "//", no spaces or controls
# (validators.validate_endpoint accepts a little more: any printable character).
ENDPOINT = "^(/[A-Za-z0-9._~!$&'()*+,;=@%-]+)+/?$|^/$"


# Members of a payload object: any key without NUL, any JSON value without NUL. Said
# with patternProperties (JSON Schema draft 4, which OpenAPI 3.0 tools read) since
# propertyNames is newer.
_NUL_FREE_MEMBERS = {
    "patternProperties": {NO_NUL: {"$ref": "#/components/schemas/JsonValue"}},
    "additionalProperties": False,
}


def _cron_field(values: str, step: str) -> str:
    item = f"({values})"
    return f"(\\*(/({step}))?|{item}(,{item})*)"


# Five fields, each *, */step or a list of values in range (validators.validate_cron
# accepts more: ranges, names). Days of the month stop at 28, so that no expression
# the description allows can fail to fire (30 2 * never does).
CRON = (
    "^"
    + "\\s+".join(
        (
            _cron_field("[0-5]?[0-9]", "[1-9]|[1-5][0-9]"),
            _cron_field("1?[0-9]|2[0-3]", "[1-9]|1[0-9]|2[0-3]"),
            _cron_field("[1-9]|1[0-9]|2[0-8]", "[1-9]|1[0-9]|2[0-8]"),
            _cron_field("[1-9]|1[0-2]", "[1-9]|1[0-2]"),
            _cron_field("[0-7]", "[1-7]"),
        )
    )
    + "$"
)

_EPOCH = {"type": "integer", "nullable": True, "description": "Unix time, seconds"}
_ANY = {"nullable": True, "description": "Any JSON value"}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


_ANSWER = {
    "decision": {"type": "string", "nullable": True},
    "note": {"type": "string", "nullable": True},
    "values": {"type": "object", "nullable": True},
}


def _range(field: str, **extra) -> dict:
    low, high = LIMITS[field]
    kind = "number" if field == "retry_backoff" else "integer"
    return {"type": kind, "minimum": low, "maximum": high, **extra}


def _schedule_fields(target_names: list[str] | None) -> dict:
    """Writable fields, AgentOS's names first, then ours. ``target_names`` (given to
    a caller with a token) makes ``target`` an enum of the targets that exist now."""
    target = {"type": "string", "description": "Target name; default the local runtime"}
    if target_names is not None:
        target["enum"] = target_names
    return {
        "name": {
            "type": "string",
            "maxLength": 255,
            "pattern": "^[a-zA-Z0-9][a-zA-Z0-9 ._-]*$",
            "example": "daily-digest",
        },
        "description": {"type": "string", "nullable": True, "pattern": NO_NUL},
        "method": {"type": "string", "enum": HttpMethod.values, "default": "POST"},
        "endpoint": {
            "type": "string",
            "maxLength": 512,
            "pattern": ENDPOINT,
            "description": "A path on the target, never a full URL",
            "example": "/agents/my-agent/runs",
        },
        "payload": {
            "type": "object",
            "nullable": True,
            **_NUL_FREE_MEMBERS,
            "description": "Sent as the request body (AgentOS run endpoints take "
            '"message" as the input); at most 32 levels deep and 64 KiB as JSON, '
            "no NUL characters",
            "example": {"message": "Write the daily digest"},
        },
        "cron_expr": {
            "type": "string",
            "maxLength": 120,
            "pattern": CRON,
            "description": "5 fields. The pattern is the safe subset; ranges (1-5), "
            "names (MON) and days 29-31 are accepted too when the expression fires",
            "example": "0 9 * * *",
        },
        "timezone": {
            "type": "string",
            "enum": sorted(zoneinfo.available_timezones()),
            "default": "UTC",
        },
        "timeout_seconds": _range("timeout_s", default=3600),
        "max_retries": _range("max_retries", default=0),
        "retry_delay_seconds": _range("retry_delay_s", default=60),
        "enabled": {"type": "boolean", "default": True},
        "target": target,
        "overlap_policy": {"type": "string", "enum": OverlapPolicy.values},
        "catch_up_policy": {"type": "string", "enum": CatchUpPolicy.values},
        "retry_backoff": _range("retry_backoff"),
        "pause_after_failures": _range("pause_after_failures", nullable=True),
        "pause_timeout_seconds": _range("pause_timeout_s", nullable=True),
        "pause_timeout_action": {"type": "string", "enum": PauseTimeoutAction.values},
    }


def schemas(target_names: list[str] | None = None) -> dict:
    fields = _schedule_fields(target_names)
    schedule = {
        "type": "object",
        "required": ["id", "name", "method", "endpoint", "cron_expr", "timezone", "enabled"],
        "properties": {
            "id": {"type": "string"},
            "user_id": {"type": "string", "nullable": True, "description": "Who created it"},
            **fields,
            "next_run_at": _EPOCH,
            "managed_by": {"type": "string", "enum": ["console", "code"]},
            "target_type": {
                "type": "string",
                "nullable": True,
                "enum": ["agent", "team", "workflow", None],
            },
            "target_id": {"type": "string", "nullable": True},
            "disabled_reason": {"type": "string", "nullable": True},
            "created_at": _EPOCH,
            "updated_at": _EPOCH,
            "paused_reason": {"type": "string", "nullable": True},
            "code_managed": {"type": "boolean"},
            "consecutive_failures": {"type": "integer"},
        },
    }
    run = {
        "type": "object",
        "required": ["id", "schedule_id", "attempt", "status"],
        "properties": {
            "id": {"type": "string"},
            "schedule_id": {"type": "string"},
            "user_id": {"type": "string", "nullable": True},
            "attempt": {"type": "integer"},
            "triggered_at": _EPOCH,
            "completed_at": _EPOCH,
            "status": {"type": "string", "enum": RunStatus.values},
            "status_code": {"type": "integer", "nullable": True},
            "run_id": {"type": "string", "nullable": True},
            "session_id": {"type": "string", "nullable": True},
            "error": {"type": "string", "nullable": True},
            "input": _ANY,
            "output": _ANY,
            "requirements": _ANY,
            "created_at": _EPOCH,
            "scheduled_for": _EPOCH,
            "started_at": _EPOCH,
            "trigger": {"type": "string", "enum": Trigger.values},
            "duration_ms": {"type": "integer", "nullable": True},
            "retry_of": {"type": "string", "nullable": True},
            "missed_count": {"type": "integer"},
            "stage": {
                "type": "string",
                "nullable": True,
                "enum": [v for v in RunStage.values if v] + [None],
            },
            "request_sent_at": _EPOCH,
            "deadline_at": _EPOCH,
            "reattach_count": {"type": "integer"},
            "cancelled_by": {"type": "string", "nullable": True},
            "trace_id": {
                "type": "string",
                "nullable": True,
                "description": "GET /api/traces/{trace_id}: the agent run's trace, else ours",
            },
            "scheduler_trace_id": {"type": "string", "nullable": True},
            "paused_at": _EPOCH,
            "pause_expires_at": _EPOCH,
            "answered_by": {"type": "string", "nullable": True},
            "answered_at": _EPOCH,
            "answer": {"type": "object", "nullable": True, "properties": _ANSWER},
        },
    }
    page_meta = {
        "type": "object",
        "properties": {k: {"type": "integer"} for k in ("page", "limit", "total_pages")}
        | {"total_count": {"type": "integer"}, "search_time_ms": {"type": "number"}},
    }
    node = {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "type": {"type": "string", "example": "AGENT"},
            "duration": {"type": "string", "example": "1.50s"},
            "duration_ms": {"type": "integer", "nullable": True},
            "start_time": {"type": "string", "format": "date-time", "nullable": True},
            "end_time": {"type": "string", "format": "date-time", "nullable": True},
            "status": {"type": "string", "example": "OK"},
            "input": {"type": "string", "nullable": True},
            "output": {"type": "string", "nullable": True},
            "error": {"type": "string", "nullable": True},
            "metadata": {"type": "object", "nullable": True},
            "spans": {"type": "array", "nullable": True, "items": ref("TraceNode")},
        },
    }
    trace_props = {
        k: {"type": "string", "nullable": True}
        for k in ("run_id", "session_id", "agent_id", "team_id", "workflow_id", "input", "output")
    }
    trace = {
        "type": "object",
        "properties": {
            "trace_id": {"type": "string"},
            "name": {"type": "string"},
            "status": {"type": "string"},
            "duration": {"type": "string"},
            "duration_ms": {"type": "integer", "nullable": True},
            "start_time": {"type": "string", "format": "date-time", "nullable": True},
            "end_time": {"type": "string", "format": "date-time", "nullable": True},
            "created_at": {"type": "string", "format": "date-time", "nullable": True},
            "total_spans": {"type": "integer"},
            "error_count": {"type": "integer"},
            "error": {"type": "string", "nullable": True},
            **trace_props,
            "source": {"type": "string"},
            "schedule_run_id": {"type": "string", "nullable": True},
            "tree": {"type": "array", "items": ref("TraceNode")},
        },
    }
    nullable_text = {"type": "string", "nullable": True}
    session = {
        "type": "object",
        "properties": {
            "session_id": {"type": "string"},
            "session_type": nullable_text,
            "component_id": nullable_text,
            "session_name": nullable_text,
            "user_id": nullable_text,
            "session_state": _ANY,
            "data": _ANY,
            "target": nullable_text,
            "created_at": _EPOCH,
            "updated_at": _EPOCH,
            "runs": {"type": "array", "items": ref("ScheduleRun")},
        },
    }
    return {
        "Schedule": schedule,
        "ScheduleCreate": {
            "type": "object",
            "required": ["name", "endpoint", "cron_expr"],
            "additionalProperties": False,
            "properties": fields,
        },
        "ScheduleUpdate": {
            "type": "object",
            "additionalProperties": False,
            "properties": fields,
        },
        "ScheduleRun": run,
        "ScheduleList": {
            "type": "object",
            "properties": {"data": {"type": "array", "items": ref("Schedule")}, "meta": page_meta},
        },
        "ScheduleRunList": {
            "type": "object",
            "properties": {
                "data": {"type": "array", "items": ref("ScheduleRun")},
                "meta": page_meta,
            },
        },
        "RunHistory": {
            "type": "object",
            "description": "Newest first; no total count (keyset paging)",
            "properties": {
                "data": {"type": "array", "items": ref("ScheduleRun")},
                "meta": {
                    "type": "object",
                    "properties": {
                        "limit": {"type": "integer"},
                        "next_before": {
                            "type": "string",
                            "nullable": True,
                            "description": "Pass as ?before= for the next, older page",
                        },
                    },
                },
            },
        },
        "Approval": {
            "type": "object",
            "properties": {
                "run_id": {"type": "string"},
                "schedule_id": {"type": "string"},
                "schedule_name": {"type": "string"},
                "agent_run_id": {"type": "string", "nullable": True},
                "paused_at": _EPOCH,
                "pause_expires_at": _EPOCH,
                "answerable": {
                    "type": "boolean",
                    "description": "Whether POST /api/runs/{run_id}/continue can answer it",
                },
                "questions": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "step": {"type": "string"},
                            "kind": {"type": "string", "enum": ["confirmation", "input"]},
                            "message": {"type": "string"},
                            "tool_args": _ANY,
                            "fields": {"type": "array", "items": {"type": "object"}},
                        },
                    },
                },
            },
        },
        "ApprovalList": {
            "type": "object",
            "description": "Runs waiting for a person, oldest pause first",
            "properties": {
                "data": {"type": "array", "items": ref("Approval")},
                "meta": {"type": "object", "properties": {"limit": {"type": "integer"}}},
            },
        },
        "ContinueRequest": {
            "type": "object",
            "required": ["decision"],
            "additionalProperties": False,
            "properties": {
                "decision": {"type": "string", "enum": ["approve", "reject"]},
                "note": {"type": "string", "maxLength": 2000, "pattern": NO_NUL},
                "values": {
                    "type": "object",
                    "description": "The requested input by field name, checked against the "
                    "user_input_schema the agent server sent",
                    **_NUL_FREE_MEMBERS,
                },
            },
        },
        "RetryRequest": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "payload": {
                    "type": "object",
                    "description": "Replaces the input; the same limits as a schedule's",
                    **_NUL_FREE_MEMBERS,
                }
            },
        },
        "JsonValue": {
            "description": f"Any JSON value without NUL in its text, at most "
            f"{PAYLOAD_MAX_DEPTH} levels deep",
            "nullable": True,
            "anyOf": [
                {"type": "string", "pattern": NO_NUL},
                {"type": "number"},
                {"type": "boolean"},
                {"type": "array", "items": ref("JsonValue")},
                {
                    "type": "object",
                    **_NUL_FREE_MEMBERS,
                },
            ],
        },
        "TraceNode": node,
        "TraceDetail": trace,
        "Session": session,
        "Error": {
            "type": "object",
            "required": ["detail"],
            "properties": {"detail": {"type": "string"}},
        },
        "ValidationError": {
            "type": "object",
            "required": ["detail"],
            "properties": {
                "detail": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["loc", "msg", "type"],
                        "properties": {
                            "loc": {"type": "array", "items": {}},
                            "msg": {"type": "string"},
                            "type": {"type": "string"},
                        },
                    },
                }
            },
        },
    }
