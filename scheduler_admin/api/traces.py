"""/api/traces/<trace_id> (AgentOS's TraceDetail with its nested ``tree``) and
/api/sessions/<session_id> (the session and the schedule runs that used it).

Trace and span times are ISO 8601 and ``duration`` is text ("150ms", "1.50s"), as
AgentOS's trace API has them; ``duration_ms`` is added beside it.
"""

from django.http import HttpRequest, JsonResponse

from agentos_bridge import agentos_shapes
from scheduler_admin.api.http import ApiError, json_response
from scheduler_admin.api.serializers import epoch, runs_for_api, to_run
from scheduler_admin.models import AgentSession, ScheduleRun, Trace

SESSION_RUNS_LIMIT = 100


def _lookup_key(value: str, what: str) -> str:
    if "\x00" in value or len(value) > 64:
        raise ApiError(404, f"{what} not found")
    return value


def trace_detail(request: HttpRequest, user, trace_id: str) -> JsonResponse:
    """A trace by its id, or by the agent run id it traces (what a run's ``run_id``
    says; AgentOS's run ids and trace ids differ)."""
    key = _lookup_key(trace_id, "Trace")
    trace = Trace.objects.filter(trace_id=key).first() or (
        # The agent's own trace before ours of the same firing.
        Trace.objects.filter(run_id=key).exclude(source="scheduler").order_by("-pk").first()
        or Trace.objects.filter(run_id=key).order_by("-pk").first()
    )
    if trace is None:
        raise ApiError(404, "Trace not found")
    spans = list(trace.spans.order_by("start_time", "pk"))
    roots = [s for s in spans if not s.parent_span_id]
    root = roots[0] if roots else None
    body = agentos_shapes.trace_detail(trace, spans)
    body.update(
        {
            "total_spans": trace.total_spans or len(spans),
            "input": (root.input or None) if root else None,
            "output": (root.output or None) if root else None,
            "error": (root.error or None) if root else None,
            "created_at": body["start_time"],
            "source": trace.source,
            "schedule_run_id": str(trace.schedule_run_id) if trace.schedule_run_id else None,
        }
    )
    return json_response(body)


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
    runs = runs_for_api(ScheduleRun.objects.filter(session_id=key)).order_by("-pk")
    runs = list(runs[:SESSION_RUNS_LIMIT])
    if session is None and not runs:
        raise ApiError(404, "Session not found")
    body = {"session_id": key, **_session_fields(session)}
    body["runs"] = [to_run(run) for run in runs]
    return json_response(body)
