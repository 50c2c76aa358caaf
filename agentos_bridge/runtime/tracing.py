"""Agno's own OpenTelemetry spans of a local run, collected in memory and stored in the
same shape a remote AgentOS serves them.

agno is traced by openinference's AgnoInstrumentor, exactly as AgentOS does with
``tracing=True``; where AgentOS exports the spans to its database, a :class:`Collector`
keeps them per run. :func:`trace_detail` then builds the AgentOS ``GET /traces/{id}``
body with agno's own code, and the bridge stores it with the importer it uses for
remote traces: one code path, the same span names and tree.
"""

import contextvars
import threading
from typing import Any

# The run a span belongs to: set by the runner before it starts agno's event loop, and
# copied by asyncio into every task (and by openinference into Parallel's threads).
current_collector: contextvars.ContextVar["Collector | None"] = contextvars.ContextVar(
    "agno_local_collector", default=None
)

_setup_lock = threading.Lock()
_set_up = False


class Collector:
    """The spans of one run, open ones included (live progress). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spans: dict[int, Any] = {}  # OpenTelemetry span id -> span (open or ended)
        self.trace_id = ""

    def add(self, span: Any) -> None:
        with self._lock:
            if not self.trace_id:
                self.trace_id = format(span.context.trace_id, "032x")
            self._spans[span.context.span_id] = span

    def snapshot(self) -> list[Any]:
        with self._lock:
            return list(self._spans.values())


def _processor():
    from opentelemetry.sdk.trace import SpanProcessor

    class RunSpanProcessor(SpanProcessor):
        """Hands each span started inside a local run to that run's collector (the
        span object given to on_start is the one that ends later)."""

        def on_start(self, span: Any, parent_context: Any = None) -> None:
            collector = current_collector.get()
            if collector is not None:
                collector.add(span)

    return RunSpanProcessor()


def ensure_instrumented() -> None:
    """Trace agno once per process. If a project's AgentOS already set up agno tracing
    (``tracing=True``), our processor joins its provider instead of replacing it."""
    global _set_up
    if _set_up:
        return
    with _setup_lock:
        if _set_up:
            return
        from openinference.instrumentation.agno import AgnoInstrumentor
        from opentelemetry import trace as trace_api
        from opentelemetry.sdk.trace import TracerProvider

        provider = trace_api.get_tracer_provider()
        if isinstance(provider, TracerProvider):
            provider.add_span_processor(_processor())
        else:
            provider = TracerProvider()
            provider.add_span_processor(_processor())
            trace_api.set_tracer_provider(provider)
        instrumentor = AgnoInstrumentor()
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=provider)
        _set_up = True


def trace_detail(collector: Collector) -> tuple[dict | None, set[str]]:
    """The run's trace as AgentOS's ``GET /traces/{trace_id}`` answers it, and the ids
    of the spans still open (stored without an end, so the view shows them running)."""
    from agno.os.routers.traces.schemas import TraceDetail
    from agno.tracing.schemas import Span, create_trace_from_spans

    otel_spans = collector.snapshot()
    open_ids = {format(s.context.span_id, "016x") for s in otel_spans if s.end_time is None}
    spans = [Span.from_otel_span(s) for s in otel_spans]
    trace = create_trace_from_spans(spans)
    if trace is None:
        return None, open_ids
    return TraceDetail.from_trace_and_spans(trace, spans).model_dump(mode="json"), open_ids
