"""A trace as a waterfall: the span tree with bars to scale."""

from dataclasses import dataclass

from django.shortcuts import get_object_or_404, render

from scheduler_admin.models import Span, Trace
from scheduler_admin.spantree import span_tree, walk


@dataclass
class WaterfallRow:
    span: Span
    depth: int
    offset_pct: float
    width_pct: float


def waterfall(spans: list[Span]) -> list[WaterfallRow]:
    """Depth-first rows (parents before children, siblings by start time), each with
    its bar's offset and width as percentages of the trace's whole duration."""
    starts = [s.start_time for s in spans if s.start_time]
    ends = [s.end_time for s in spans if s.end_time] or starts
    origin = min(starts) if starts else None
    total_s = (max(ends) - origin).total_seconds() if origin else 0
    rows: list[WaterfallRow] = []
    for node, depth in walk(span_tree(spans)):
        span = node.span
        offset = width = 0.0
        if origin and span.start_time and total_s > 0:
            offset = (span.start_time - origin).total_seconds() / total_s * 100
            end = span.end_time or span.start_time
            width = max((end - span.start_time).total_seconds() / total_s * 100, 0.5)
        elif origin and span.start_time:
            width = 100.0
        rows.append(WaterfallRow(span, depth, round(offset, 2), round(min(width, 100 - offset), 2)))
    return rows


def trace_detail(request, trace_id: str):
    trace = get_object_or_404(
        Trace.objects.select_related("schedule_run__schedule", "target"), trace_id=trace_id
    )
    spans = list(trace.spans.all())
    return render(
        request, "traces/detail.html", {"trace": trace, "rows": waterfall(spans), "spans": spans}
    )
