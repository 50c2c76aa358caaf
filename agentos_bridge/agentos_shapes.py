"""Our session and trace rows in AgentOS's JSON shapes (for the local AgentOS views)."""

from datetime import datetime

from scheduler_admin.models import AgentSession, Span, Trace

FILTERS = ("run_id", "session_id", "agent_id", "team_id", "workflow_id", "status")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def session(row: AgentSession) -> dict:
    kind = row.session_type or "agent"
    return {
        "session_id": row.session_id,
        f"{kind}_id": row.component_id,
        "session_name": row.session_name,
        "user_id": row.user_id or None,
        "session_state": row.session_state,
        f"{kind}_data": row.data,
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
    }


def trace_summary(trace: Trace) -> dict:
    return {
        "trace_id": trace.trace_id,
        "name": trace.name,
        "status": trace.status,
        "duration": f"{trace.duration_ms or 0}ms",
        "start_time": _iso(trace.start_time),
        "end_time": _iso(trace.end_time),
        "total_spans": trace.total_spans,
        "error_count": trace.error_count,
        "run_id": trace.run_id or None,
        "session_id": trace.session_id or None,
        "agent_id": trace.agent_id or None,
        "team_id": trace.team_id or None,
        "workflow_id": trace.workflow_id or None,
    }


def trace_page(queryset, params) -> dict:
    """GET /traces: filters, newest first, paginated as {"data", "meta"}."""
    queryset = queryset.exclude(source="scheduler")
    for key in FILTERS:
        if params.get(key):
            queryset = queryset.filter(**{key: params[key]})
    if params.get("start_time"):
        start = datetime.fromisoformat(params["start_time"].replace("Z", "+00:00"))
        queryset = queryset.filter(start_time__gte=start)
    page = max(1, _int(params.get("page"), 1))
    limit = min(100, max(1, _int(params.get("limit"), 20)))
    total = queryset.count()
    rows = queryset.order_by("-start_time", "-pk")[(page - 1) * limit : page * limit]
    return {
        "data": [trace_summary(t) for t in rows],
        "meta": {
            "page": page,
            "limit": limit,
            "total_pages": (total + limit - 1) // limit,
            "total_count": total,
        },
    }


def trace_detail(trace: Trace) -> dict:
    spans = list(trace.spans.all())
    children: dict[str, list[Span]] = {}
    for span in spans:
        children.setdefault(span.parent_span_id, []).append(span)

    def node(span: Span) -> dict:
        return {
            "id": span.span_id,
            "name": span.name,
            "type": span.span_type or "UNKNOWN",
            "duration": f"{span.duration_ms or 0}ms",
            "start_time": _iso(span.start_time),
            "end_time": _iso(span.end_time),
            "status": span.status,
            "input": span.input or None,
            "output": span.output or None,
            "error": span.error or None,
            "metadata": span.attributes or None,
            "spans": [node(c) for c in children.get(span.span_id, [])],
        }

    known = {s.span_id for s in spans}
    roots = [s for s in spans if not s.parent_span_id or s.parent_span_id not in known]
    return {**trace_summary(trace), "tree": [node(s) for s in roots]}


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
