"""A run's traces as one waterfall: the scheduler's firing spans and the agent's
spans on one time axis, running spans drawn as running (to now) and the page live
while anything runs."""

from dataclasses import dataclass
from datetime import datetime

from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from scheduler_admin.models import Span, Trace
from scheduler_admin.spantree import span_tree, walk
from scheduler_admin.views import live, queries

SOURCE_LABELS = {"scheduler": "scheduler", "local": "agent (local)", "remote": "agent server"}


@dataclass
class WaterfallRow:
    span: Span
    depth: int
    offset_pct: float
    width_pct: float
    running: bool = False
    trace: Trace | None = None  # set on the first row of each trace: a heading row
    has_children: bool = False


def _bounds(spans: list[Span], now: datetime) -> tuple[datetime | None, float]:
    """The time axis: from the first start to the last end, or to now while a span
    still runs."""
    starts = [s.start_time for s in spans if s.start_time]
    if not starts:
        return None, 0.0
    ends = [s.end_time or now for s in spans if s.start_time]
    origin = min(starts)
    return origin, max((max(ends) - origin).total_seconds(), 0.0)


def waterfall(
    spans: list[Span], traces: list[Trace] | None = None, now: datetime | None = None
) -> list[WaterfallRow]:
    """Depth-first rows of each trace in turn (parents before children, siblings by
    start time), each with its bar's offset and width as percentages of one time
    axis shared by all the traces. A span without an end is running: its bar
    reaches now. Without ``traces``, ``spans`` are drawn as one tree."""
    now = now or timezone.now()
    origin, total_s = _bounds(spans, now)
    groups: list[tuple[Trace | None, list[Span]]] = [(None, spans)]
    if traces is not None:
        by_trace: dict[int, list[Span]] = {}
        for span in spans:
            by_trace.setdefault(span.trace_id, []).append(span)
        groups = [(trace, by_trace.get(trace.pk, [])) for trace in traces]
    rows: list[WaterfallRow] = []
    for trace, group in groups:
        first = True
        for node, depth in walk(span_tree(group)):
            span = node.span
            running = span.start_time is not None and span.end_time is None
            offset = width = 0.0
            if origin and span.start_time and total_s > 0:
                offset = (span.start_time - origin).total_seconds() / total_s * 100
                end = span.end_time or now
                width = max((end - span.start_time).total_seconds() / total_s * 100, 0.5)
            elif origin and span.start_time:
                width = 100.0
            rows.append(
                WaterfallRow(
                    span,
                    depth,
                    round(offset, 2),
                    round(min(width, 100 - offset), 2),
                    running=running,
                    trace=trace if first else None,
                    has_children=bool(node.children),
                )
            )
            first = False
    return rows


def axis(total_s: float, ticks: int = 4) -> list[tuple[float, str]]:
    """(percent, label) marks under the waterfall: 0, a quarter, ... the whole."""
    marks = []
    for i in range(ticks + 1):
        seconds = total_s * i / ticks
        label = f"{seconds * 1000:.0f} ms" if total_s < 2 else f"{seconds:.1f} s"
        marks.append((i * 100 / ticks, label))
    return marks


def trace_detail(request, trace_id: str):
    """The trace with the other traces of its run (scheduler and agent side) in one
    waterfall. It polls itself while a span runs or the run is in flight: one query
    and a 204 until a span is added or ends."""
    polled = request.htmx and request.htmx.target == "trace-live"
    if polled and (
        nothing_new := live.unchanged(request, live.stamp(queries.trace_state(trace_id)))
    ):
        return nothing_new
    trace = get_object_or_404(
        Trace.objects.select_related("schedule_run__schedule", "target"), trace_id=trace_id
    )
    traces = [trace]
    if trace.schedule_run_id:
        traces = list(
            Trace.objects.filter(schedule_run_id=trace.schedule_run_id)
            .select_related("target")
            .order_by("start_time", "pk")
        )
    spans = list(Span.objects.filter(trace__in=traces).order_by("start_time", "pk"))
    now = timezone.now()
    rows = waterfall(spans, traces, now)
    origin, total_s = _bounds(spans, now)
    run = trace.schedule_run
    context = {
        "trace": trace,
        "traces": traces,
        "rows": rows,
        "spans": spans,
        "axis": axis(total_s),
        "labels": SOURCE_LABELS,
        "running": any(r.running for r in rows) or (run is not None and run.is_active),
        # The same numbers trace_state counts, so the first poll finds no change.
        "stamp": live.stamp(queries.trace_state_of(traces, spans)),
    }
    template = "traces/detail.html#live" if polled else "traces/detail.html"
    return render(request, template, context)
