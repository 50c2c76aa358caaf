"""/api/traces/<trace_id> (AgentOS's TraceDetail with its nested ``tree``) and
/api/sessions/<session_id> (the session and the schedule runs that used it).

Trace and span times are ISO 8601 and ``duration`` is text ("150ms", "1.50s"), as
AgentOS's trace API has them; ``duration_ms`` is added beside it.
"""

from datetime import datetime

from django.http import HttpRequest, JsonResponse

from scheduler_admin.api.http import ApiError, json_response
from scheduler_admin.api.serializers import epoch, to_run
from scheduler_admin.models import AgentSession, ScheduleRun, Trace
from scheduler_admin.spantree import SpanNode, span_tree

SESSION_RUNS_LIMIT = 100


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _duration_text(ms: int | None) -> str:
    return f"{ms or 0}ms" if ms is None or ms < 1000 else f"{ms / 1000:.2f}s"


def _lookup_key(value: str, what: str) -> str:
    if "\x00" in value or len(value) > 64:
        raise ApiError(404, f"{what} not found")
    return value


def _node(node: SpanNode) -> dict:
    span = node.span
    return {
        "id": span.span_id,
        "name": span.name,
        "type": span.span_type or "UNKNOWN",
        "duration": _duration_text(span.duration_ms),
        "duration_ms": span.duration_ms,
        "start_time": _iso(span.start_time),
        "end_time": _iso(span.end_time),
        "status": span.status,
        "input": span.input or None,
        "output": span.output or None,
        "error": span.error or None,
        "metadata": span.attributes or None,
        "spans": [_node(child) for child in node.children] or None,
    }


def trace_detail(request: HttpRequest, user, trace_id: str) -> JsonResponse:
    trace = Trace.objects.filter(trace_id=_lookup_key(trace_id, "Trace")).first()
    if trace is None:
        raise ApiError(404, "Trace not found")
    spans = list(trace.spans.order_by("start_time", "pk"))
    roots = [s for s in spans if not s.parent_span_id]
    root = roots[0] if roots else None
    return json_response(
        {
            "trace_id": trace.trace_id,
            "name": trace.name,
            "status": trace.status,
            "duration": _duration_text(trace.duration_ms),
            "duration_ms": trace.duration_ms,
            "start_time": _iso(trace.start_time),
            "end_time": _iso(trace.end_time),
            "total_spans": trace.total_spans or len(spans),
            "error_count": trace.error_count,
            "input": (root.input or None) if root else None,
            "output": (root.output or None) if root else None,
            "error": (root.error or None) if root else None,
            "run_id": trace.run_id or None,
            "session_id": trace.session_id or None,
            "agent_id": trace.agent_id or None,
            "team_id": trace.team_id or None,
            "workflow_id": trace.workflow_id or None,
            "created_at": _iso(trace.start_time),
            "source": trace.source,
            "schedule_run_id": str(trace.schedule_run_id) if trace.schedule_run_id else None,
            "tree": [_node(root) for root in span_tree(spans)],
        }
    )


def _session_fields(session: AgentSession | None) -> dict:
    if session is None:  # only runs know this session; AgentOS has not been asked yet
        return dict.fromkeys(
            ("session_type", "component_id", "session_name", "user_id", "session_state", "data")
            + ("target", "created_at", "updated_at")
        )
    return {
        "session_type": session.session_type or None,
        "component_id": session.component_id or None,
        "session_name": session.session_name or None,
        "user_id": session.user_id or None,
        "session_state": session.session_state,
        "data": session.data,
        "target": session.target.name if session.target else None,
        "created_at": epoch(session.created_at),
        "updated_at": epoch(session.updated_at),
    }


def session_detail(request: HttpRequest, user, session_id: str) -> JsonResponse:
    """The stored session (null fields when only runs know it) and its newest runs."""
    key = _lookup_key(session_id, "Session")
    session = AgentSession.objects.select_related("target").filter(session_id=key).first()
    runs = list(ScheduleRun.objects.filter(session_id=key).order_by("-pk")[:SESSION_RUNS_LIMIT])
    if session is None and not runs:
        raise ApiError(404, "Session not found")
    body = {"session_id": key, **_session_fields(session)}
    body["runs"] = [to_run(run) for run in runs]
    return json_response(body)
