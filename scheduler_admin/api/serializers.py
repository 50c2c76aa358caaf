"""Schedules and runs as AgentOS spells them (epoch seconds, *_seconds), with our extra
fields beside them; and request bodies back into the engine's field names.

Only JSON shapes are checked here (is it a string, an integer, …). Every rule about
values lives in scheduler_admin.validators and runs in engine.operations.
"""

import re
from datetime import datetime

from django.db.models import Prefetch, QuerySet

from scheduler_admin.api.http import problem, unprocessable
from scheduler_admin.models import Schedule, ScheduleRun, Trace

# AgentOS's target_type/target_id: the component a run endpoint calls.
_COMPONENT = re.compile(r"^/(agents|teams|workflows)/([^/]+)/runs/?$")

# API name -> model name, where they differ.
TO_MODEL = {
    "timeout_seconds": "timeout_s",
    "retry_delay_seconds": "retry_delay_s",
    "pause_timeout_seconds": "pause_timeout_s",
}
TO_API = {model: api for api, model in TO_MODEL.items()}

_STR, _INT, _NUMBER, _BOOL, _ANY = "string", "integer", "number", "boolean", "any"

# Accepted request fields: (JSON type, may be null).
SCHEDULE_FIELDS = {
    "name": (_STR, False),
    "description": (_STR, True),
    "method": (_STR, False),
    "endpoint": (_STR, False),
    "payload": (_ANY, True),  # its rule (a JSON object) is the validators' to report
    "cron_expr": (_STR, False),
    "timezone": (_STR, False),
    "timeout_seconds": (_INT, False),
    "max_retries": (_INT, False),
    "retry_delay_seconds": (_INT, False),
    "enabled": (_BOOL, False),
    "target": (_STR, False),
    "overlap_policy": (_STR, False),
    "catch_up_policy": (_STR, False),
    "retry_backoff": (_NUMBER, False),
    "pause_after_failures": (_INT, True),
    "pause_timeout_seconds": (_INT, True),
    "pause_timeout_action": (_STR, False),
}


# What null stands for where it is allowed (AgentOS sends null for "none").
_NULL_MEANS = {
    "description": "",
    "payload": {},
    "pause_after_failures": None,
    "pause_timeout_seconds": None,
}


def epoch(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def _type_ok(value, kind: str) -> bool:
    if kind == _STR:
        return isinstance(value, str)
    if kind == _BOOL:
        return isinstance(value, bool)
    if kind == _INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == _NUMBER:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return True


def schedule_input(body: dict) -> dict:
    """A create/update body (AgentOS names) as engine data (model names); 422 on unknown
    fields, wrong JSON types, or null where null means nothing."""
    problems = []
    data = {}
    for key, value in body.items():
        if key not in SCHEDULE_FIELDS:
            msg = "Unknown field; accepted fields are " + ", ".join(SCHEDULE_FIELDS) + "."
            problems.append(problem(["body", key], msg, "extra_forbidden"))
            continue
        kind, nullable = SCHEDULE_FIELDS[key]
        if value is None:
            if not nullable:
                problems.append(problem(["body", key], f"'{key}' cannot be set to null"))
            else:
                data[TO_MODEL.get(key, key)] = _NULL_MEANS.get(key)
            continue
        if not _type_ok(value, kind):
            msg = f"Input should be a valid {kind}."
            problems.append(problem(["body", key], msg, f"{kind}_type"))
            continue
        if key == "method":
            value = value.upper()  # AgentOS accepts "post"
        data[TO_MODEL.get(key, key)] = value
    if problems:
        raise unprocessable(problems)
    return data


def schedules_for_api(queryset: QuerySet) -> QuerySet:
    """What to_agentos_schedule reads, in the same query."""
    return queryset.select_related("target", "created_by")


def runs_for_api(queryset: QuerySet) -> QuerySet:
    """What to_run reads: its users in the same query, its traces in one more."""
    traces = Trace.objects.only("pk", "trace_id", "source", "schedule_run_id").order_by("pk")
    return queryset.select_related("triggered_by", "schedule__created_by").prefetch_related(
        Prefetch("traces", queryset=traces)
    )


def _username(user) -> str | None:
    return user.get_username() if user is not None else None


def _component(endpoint: str) -> tuple[str | None, str | None]:
    match = _COMPONENT.match(endpoint or "")
    if not match:
        return None, None
    return match.group(1).removesuffix("s"), match.group(2)


def to_agentos_schedule(schedule: Schedule) -> dict:
    """A schedule in AgentOS's ScheduleResponse shape, plus our fields."""
    target_type, target_id = _component(schedule.endpoint)
    return {
        "id": str(schedule.pk),
        "user_id": _username(schedule.created_by),
        "name": schedule.name,
        "description": schedule.description or None,
        "method": schedule.method,
        "endpoint": schedule.endpoint,
        "payload": schedule.payload,
        "cron_expr": schedule.cron_expr,
        "timezone": schedule.timezone,
        "timeout_seconds": schedule.timeout_s,
        "max_retries": schedule.max_retries,
        "retry_delay_seconds": schedule.retry_delay_s,
        "enabled": schedule.enabled,
        "next_run_at": epoch(schedule.next_run_at),
        # Who manages the row: "code" for schedules declared in code, else the console.
        "managed_by": "code" if schedule.code_managed else "console",
        "target_type": target_type,
        "target_id": target_id,
        # Set when the system (not a person) disabled it: auto-pause, cron exhausted.
        "disabled_reason": (schedule.paused_reason or None) if not schedule.enabled else None,
        "created_at": epoch(schedule.created_at),
        "updated_at": epoch(schedule.updated_at),
        # Ours:
        "target": schedule.target.name,
        "overlap_policy": schedule.overlap_policy,
        "catch_up_policy": schedule.catch_up_policy,
        "retry_backoff": schedule.retry_backoff,
        "pause_after_failures": schedule.pause_after_failures,
        "pause_timeout_seconds": schedule.pause_timeout_s,
        "pause_timeout_action": schedule.pause_timeout_action,
        "paused_reason": schedule.paused_reason or None,
        "code_managed": schedule.code_managed,
        "consecutive_failures": schedule.consecutive_failures,
    }


def _answer_summary(answer) -> dict | None:
    """The answer as the person gave it (not the requirements sent with it)."""
    if not isinstance(answer, dict):
        return None
    return {key: answer.get(key) for key in ("decision", "note", "values")}


def to_approval(run: ScheduleRun) -> dict:
    """A paused run as the approvals inbox lists it: what it asks, since when."""
    from scheduler_admin.engine.approvals import can_answer_here, questions

    return {
        "run_id": str(run.pk),
        "schedule_id": str(run.schedule_id),
        "schedule_name": run.schedule.name,
        "agent_run_id": run.run_id or None,
        "paused_at": epoch(run.paused_at or run.completed_at),
        "pause_expires_at": epoch(run.pause_expires_at),
        "answerable": can_answer_here(run),
        "questions": questions(run),
    }


def to_run(run: ScheduleRun) -> dict:
    """A run in AgentOS's ScheduleRunResponse shape, plus our fields. ``triggered_at``
    and ``created_at`` are when the run was queued; ``started_at`` when a worker began."""
    traces = list(run.traces.all())
    agent_trace = next((t.trace_id for t in traces if t.source != "scheduler"), None)
    ours = next((t.trace_id for t in traces if t.source == "scheduler"), None)
    return {
        "id": str(run.pk),
        "schedule_id": str(run.schedule_id),
        # AgentOS: the caller for a manual run, otherwise the schedule's owner.
        "user_id": _username(run.triggered_by or run.schedule.created_by),
        "attempt": run.attempt,
        "triggered_at": epoch(run.queued_at),
        "completed_at": epoch(run.completed_at),
        "status": run.status,
        "status_code": run.status_code,
        "run_id": run.run_id or None,
        "session_id": run.session_id or None,
        "error": run.error or None,
        "input": run.input,
        "output": run.output,
        "requirements": run.requirements,
        "created_at": epoch(run.queued_at),
        # Ours:
        "scheduled_for": epoch(run.scheduled_for),
        "started_at": epoch(run.started_at),
        "trigger": run.trigger,
        "duration_ms": run.duration_ms,
        "retry_of": str(run.retry_of_id) if run.retry_of_id else None,
        "missed_count": run.missed_count,
        "stage": run.stage or None,
        "request_sent_at": epoch(run.request_sent_at),
        "deadline_at": epoch(run.deadline_at),
        "reattach_count": run.reattach_count,
        "cancelled_by": str(run.cancelled_by_id) if run.cancelled_by_id else None,
        # Human in the loop: when it paused for a person, until when, and the last answer.
        "paused_at": epoch(run.paused_at),
        "pause_expires_at": epoch(run.pause_expires_at),
        "answered_by": run.answered_by_name or None,
        "answered_at": epoch(run.answered_at),
        "answer": _answer_summary(run.answer),
        # GET /api/traces/{trace_id}: the agent run's trace when it was imported, else
        # our own trace of the firing; scheduler_trace_id is always ours.
        "trace_id": agent_trace or ours,
        "scheduler_trace_id": ours,
    }
