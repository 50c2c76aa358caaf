"""Our session and trace rows in AgentOS's JSON shapes (for the local AgentOS views)."""

from datetime import UTC, datetime

from scheduler_admin.models import AgentSession, Trace
from scheduler_admin.spantree import SpanNode, span_tree

FILTERS = ("run_id", "session_id", "agent_id", "team_id", "workflow_id", "status")
MAX_PAGE = 10**9


class BadQuery(ValueError):
    """A query parameter AgentOS would refuse with 422; ``problem`` is its detail entry."""

    def __init__(self, name: str, msg: str, type_: str):
        super().__init__(msg)
        self.problem = {"loc": ["query", name], "msg": msg, "type": type_}


def _start_time(text: str) -> datetime:
    """An ISO 8601 time ("Z" allowed); a time without zone is UTC."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        msg = "Input should be a valid datetime (ISO 8601, e.g. 2026-01-01T00:00:00Z)."
        raise BadQuery("start_time", msg, "datetime_parsing") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


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


def duration_text(ms: int | None) -> str:
    """AgentOS's human-readable duration: "150ms", "1.50s"."""
    return f"{ms or 0}ms" if ms is None or ms < 1000 else f"{ms / 1000:.2f}s"


def trace_summary(trace: Trace) -> dict:
    return {
        "trace_id": trace.trace_id,
        "name": trace.name,
        "status": trace.status,
        "duration": duration_text(trace.duration_ms),
        "duration_ms": trace.duration_ms,
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
    """GET /traces: filters, newest first, paginated as {"data", "meta"}; BadQuery for a
    start_time that is not a time."""
    queryset = queryset.exclude(source="scheduler")
    for key in FILTERS:
        if params.get(key):
            queryset = queryset.filter(**{key: params[key]})
    if params.get("start_time"):
        queryset = queryset.filter(start_time__gte=_start_time(params["start_time"]))
    # Capped so the offset stays an integer the database can take; pages that far are empty.
    page = min(MAX_PAGE, max(1, _int(params.get("page"), 1)))
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


def span_node(node: SpanNode) -> dict:
    """One node of AgentOS's trace ``tree`` (children under ``spans``, None for a leaf)."""
    span = node.span
    return {
        "id": span.span_id,
        "name": span.name,
        "type": span.span_type or "UNKNOWN",
        "duration": duration_text(span.duration_ms),
        "duration_ms": span.duration_ms,
        "start_time": _iso(span.start_time),
        "end_time": _iso(span.end_time),
        "status": span.status,
        "input": span.input or None,
        "output": span.output or None,
        "error": span.error or None,
        "metadata": span.attributes or None,
        "spans": [span_node(child) for child in node.children] or None,
    }


def trace_detail(trace: Trace, spans=None) -> dict:
    """AgentOS's TraceDetail: the summary and the nested span tree."""
    spans = list(trace.spans.order_by("start_time", "pk")) if spans is None else spans
    return {**trace_summary(trace), "tree": [span_node(root) for root in span_tree(spans)]}


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
