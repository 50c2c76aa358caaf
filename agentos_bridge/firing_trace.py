"""Our own side of a firing as a trace (source="scheduler"): claim, submit, each poll,
completion. A run has this trace even when the agent server traces nothing or was
unreachable."""

import logging
import uuid
from typing import Any

from agentos_bridge.outcome import Outcome, RunRequest
from agentos_bridge.spans import SpanRecord, SpanRecorder, now, save_trace
from scheduler_admin.ops.logs import bind as bind_log_ids

log = logging.getLogger(__name__)


TRACE_NAMESPACE = uuid.UUID("5f1d2c57-8a43-4a59-9d0e-2f8f5b0c6a11")


def trace_id_for(run_pk: int) -> str:
    """The scheduler trace of a run that is submitted by one process and followed by
    another: both find it by this id."""
    return uuid.uuid5(TRACE_NAMESPACE, f"schedule-run-{run_pk}").hex


class FiringTrace:
    def __init__(self, request: RunRequest, trace_id: str | None = None):
        self.request = request
        self.trace_id = trace_id or uuid.uuid4().hex
        bind_log_ids(trace=self.trace_id)  # JSON log lines about this firing carry it
        self.recorder = SpanRecorder()
        started = now()
        self.root = self.recorder.add(
            SpanRecord(
                span_id=self.trace_id[:16],
                name=f"fire {request.schedule_name or request.endpoint}",
                span_type="SCHEDULER",
                start_time=request.claimed_at or started,
                attributes={
                    "schedule.name": request.schedule_name,
                    "target.name": request.target.name,
                    "http.method": request.method,
                    "endpoint": request.endpoint,
                    "idempotency_key": request.idempotency_key,
                },
            )
        )
        self.recorder.adopt(self.root.span_id)
        if request.claimed_at:
            claim = self.recorder.add(
                SpanRecord(
                    name="claim",
                    span_type="SCHEDULER",
                    parent_span_id=self.root.span_id,
                    start_time=request.claimed_at,
                )
            )
            claim.finish(at=started)

    def span(self, name: str, *, input: Any = None, **attributes):
        return self.recorder.span(name, "SCHEDULER", input=input, **attributes)

    def complete(self, outcome: Outcome) -> None:
        with self.span("complete", status=outcome.status) as span:
            span.finish(output={"status": outcome.status, "status_code": outcome.status_code})
        self.root.attributes.update(
            {"outcome.status": outcome.status, "agno.run.id": outcome.run_id}
        )
        self.root.finish(output=outcome.status, error=outcome.error)
        self.save(outcome)

    def save(self, outcome: Outcome) -> None:
        """Store the trace; a failure here is logged and never fails the run."""
        try:
            from scheduler_admin.models import ScheduleRun, Target

            schedule_run_pk = self.request.run_pk
            if schedule_run_pk and not ScheduleRun.objects.filter(pk=schedule_run_pk).exists():
                schedule_run_pk = None
            save_trace(
                self.recorder.snapshot(),
                trace_id=self.trace_id,
                name=self.root.name,
                run_id=outcome.run_id[:64],
                session_id=outcome.session_id[:64],
                source="scheduler",
                schedule_run_id=schedule_run_pk,
                target=Target.objects.filter(name=self.request.target.name).first(),
            )
        except Exception:  # noqa: BLE001 - observability must not fail the run
            log.exception("run %s: could not store the scheduler trace", self.request.run_pk)


def finish_followed(
    request: RunRequest,
    outcome: Outcome,
    *,
    checks: int,
    followed_since,
    note: str = "",
) -> None:
    """The scheduler trace of a followed run, written once when it ends (a run in
    flight costs no trace writes): claim (until the request left), then "follow" for
    the submit and every status check (one span, not one per check), then "complete"."""
    trace = FiringTrace(request, trace_id=trace_id_for(request.run_pk))
    sent = followed_since or now()
    for span in trace.recorder.spans:
        if span.name == "claim":
            span.finish(at=max(sent, span.start_time))
    follow = trace.recorder.add(
        SpanRecord(
            name="follow",
            span_type="SCHEDULER",
            parent_span_id=trace.root.span_id,
            start_time=sent,
            attributes={"checks": checks, "agno.run.id": outcome.run_id},
        )
    )
    follow.finish(output=f"submitted, then {checks} status checks{'; ' + note if note else ''}")
    trace.complete(outcome)
