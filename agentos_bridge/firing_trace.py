"""Our own side of a firing as a trace (source="scheduler"): claim, submit, each poll,
completion. A run has this trace even when the agent server traces nothing or was
unreachable."""

import logging
import uuid
from typing import Any

from agentos_bridge.outcome import Outcome, RunRequest
from agentos_bridge.spans import SpanRecord, SpanRecorder, now, save_trace

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

    def save_open(self, run_id: str = "", session_id: str = "") -> None:
        """Store the trace so far, its root still open (the run is in flight)."""
        self.root.attributes.update({"agno.run.id": run_id, "session.id": session_id})
        self.save(Outcome(status="running", run_id=run_id, session_id=session_id))

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
    request: RunRequest, outcome: Outcome, *, checks: int, followed_since, note: str = ""
) -> None:
    """Close the scheduler trace of a followed run: a "follow" span for the checks made
    (not one per check) and "complete"; the root opened by the submit ends now."""
    trace = FiringTrace(request, trace_id=trace_id_for(request.run_pk))
    trace.recorder.spans = [trace.root]  # the claim span was stored by the submit
    follow = trace.recorder.add(
        SpanRecord(
            name="follow",
            span_type="SCHEDULER",
            parent_span_id=trace.root.span_id,
            start_time=followed_since or now(),
            attributes={"checks": checks},
        )
    )
    follow.finish(output=f"{checks} checks{'; ' + note if note else ''}")
    trace.complete(outcome)
