"""Collect spans in memory (any thread) and store them as Trace and Span rows.

Recording never touches the database; :func:`save_trace` does, from the caller's
thread, so runtime threads need no connection of their own.
"""

import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

MAX_TEXT = 20_000


def now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex[:16]


def as_text(value: Any) -> str:
    """Inputs and outputs are stored as text (the UI escapes them)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        import json

        try:
            value = json.dumps(value, default=str)
        except (TypeError, ValueError):
            value = repr(value)
    return value[:MAX_TEXT]


@dataclass
class SpanRecord:
    name: str
    span_type: str = ""
    parent_span_id: str = ""
    span_id: str = field(default_factory=new_id)
    status: str = "UNSET"
    start_time: datetime = field(default_factory=now)
    end_time: datetime | None = None
    input: str = ""
    output: str = ""
    error: str = ""
    attributes: dict = field(default_factory=dict)

    def finish(self, *, output: Any = None, error: str = "", at: datetime | None = None) -> None:
        """End the span. ``end_time`` is set last: a live flush from another thread
        treats a span without it as open, so it never stores a half-finished span."""
        end_time = at or now()
        self.output = as_text(output)
        self.error = error[:MAX_TEXT]
        self.status = "ERROR" if error else "OK"
        self.end_time = end_time

    @property
    def duration_ms(self) -> int | None:
        if self.end_time is None:
            return None
        return max(0, int((self.end_time - self.start_time).total_seconds() * 1000))


class SpanRecorder:
    """Thread-safe list of spans, with a per-thread stack of open spans for nesting."""

    def __init__(self) -> None:
        self.spans: list[SpanRecord] = []
        self._lock = threading.Lock()
        self._local = threading.local()

    def current_parent(self) -> str:
        stack = getattr(self._local, "stack", None)
        return stack[-1] if stack else ""

    def adopt(self, parent_span_id: str) -> None:
        """Nest this thread's spans under a span opened in another thread (Parallel)."""
        self._local.stack = [parent_span_id] if parent_span_id else []

    def add(self, span: SpanRecord) -> SpanRecord:
        with self._lock:
            self.spans.append(span)
        return span

    @contextmanager
    def span(self, name: str, span_type: str = "", *, input: Any = None, **attributes):
        """Open a span around a block; the block sets ``span.output``-worthy values via
        ``span.finish`` or just returns, and an exception marks it ERROR and re-raises."""
        record = self.add(
            SpanRecord(
                name=name,
                span_type=span_type,
                parent_span_id=self.current_parent(),
                input=as_text(input),
                attributes=attributes,
            )
        )
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        stack.append(record.span_id)
        try:
            yield record
        except BaseException as exc:
            record.finish(error=f"{type(exc).__name__}: {exc}")
            raise
        finally:
            stack.pop()
            if record.end_time is None:
                record.finish()

    def snapshot(self) -> list[SpanRecord]:
        with self._lock:
            return list(self.spans)


def save_trace(spans: list[SpanRecord], **trace_fields) -> Any:
    """Create or update the Trace ``trace_fields["trace_id"]`` and upsert its spans.

    Called again with more spans (live progress), it adds the new ones and updates
    the ones that have ended since. All in one transaction: a reader never sees a trace
    with half its spans."""
    from django.db import transaction

    with transaction.atomic():
        return _save_trace(spans, **trace_fields)


def _save_trace(spans: list[SpanRecord], **trace_fields) -> Any:
    from scheduler_admin.models import Span, Trace

    trace_id = trace_fields.pop("trace_id")
    starts = [s.start_time for s in spans]
    ends = [s.end_time for s in spans if s.end_time]
    roots = [s for s in spans if not s.parent_span_id]
    errors = sum(1 for s in spans if s.status == "ERROR")
    defaults = {
        "start_time": min(starts) if starts else None,
        "end_time": max(ends) if ends and all(s.end_time for s in roots) else None,
        "total_spans": len(spans),
        "error_count": errors,
        **trace_fields,
    }
    if defaults["start_time"] and defaults["end_time"]:
        delta = defaults["end_time"] - defaults["start_time"]
        defaults["duration_ms"] = int(delta.total_seconds() * 1000)
    if "status" not in trace_fields and defaults["end_time"]:
        defaults["status"] = "ERROR" if any(r.status == "ERROR" for r in roots) else "OK"
    trace, _ = Trace.objects.update_or_create(trace_id=trace_id, defaults=defaults)
    existing = dict(trace.spans.values_list("span_id", "end_time"))
    new = [s for s in spans if s.span_id not in existing]
    Span.objects.bulk_create([_row(trace, s) for s in new])
    for s in spans:
        # Only spans that were still open at the last save can have changed.
        if s.span_id in existing and existing[s.span_id] is None and s.end_time:
            Span.objects.filter(trace=trace, span_id=s.span_id).update(
                **{k: v for k, v in _fields(s).items() if k != "span_id"}
            )
    if existing and set(existing) - {s.span_id for s in spans}:
        # Saved in parts (a run submitted by one process, followed by another): the
        # counts are of all the trace's spans, not of this part.
        stored = trace.spans.all()
        Trace.objects.filter(pk=trace.pk).update(
            total_spans=stored.count(),
            error_count=stored.filter(status="ERROR").count(),
        )
    return trace


def _fields(s: SpanRecord) -> dict:
    # end_time first: finish() sets it last, so once it is read as set, the other
    # fields read after it are final; read as None, the row stays open for later.
    end_time = s.end_time
    duration_ms = s.duration_ms if end_time else None
    return {
        "span_id": s.span_id,
        "parent_span_id": s.parent_span_id,
        "name": s.name[:255],
        "span_type": s.span_type[:32],
        "status": s.status,
        "start_time": s.start_time,
        "end_time": end_time,
        "duration_ms": duration_ms,
        "input": s.input,
        "output": s.output,
        "error": s.error,
        "attributes": s.attributes,
    }


def _row(trace, s: SpanRecord):
    from scheduler_admin.models import Span

    return Span(trace=trace, **_fields(s))


def records_from_tree(nodes: list) -> list[SpanRecord]:
    """Span records from a trace tree as AgentOS's ``GET /traces/{trace_id}`` serves it
    (remote traces, and the local runtime's, which agno's own code builds)."""
    out: list[SpanRecord] = []
    for node in nodes:
        _flatten(node, "", out)
    return out


def _flatten(node: dict, parent: str, out: list[SpanRecord]) -> None:
    span_id = str(node.get("id") or node.get("span_id") or len(out))[:64]
    record = SpanRecord(
        name=str(node.get("name") or "span"),
        span_type=str(node.get("type") or ""),
        parent_span_id=parent,
        span_id=span_id,
        status=str(node.get("status") or "UNSET")[:16],
        start_time=parse_time(node.get("start_time")) or now(),
        end_time=parse_time(node.get("end_time")),
        input=as_text(node.get("input")),
        output=as_text(node.get("output")),
        error=as_text(node.get("error")),
        attributes={**(node.get("attributes") or {}), **(node.get("metadata") or {})},
    )
    out.append(record)
    for child in node.get("spans") or []:
        _flatten(child, span_id, out)


def parse_time(value: Any) -> datetime | None:
    """An epoch number or an ISO 8601 text (``Z`` or an offset; naive is UTC)."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
