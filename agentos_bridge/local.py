"""The in-process runtime: the built-in `local` target.

``/agents|teams|workflows/<id>/runs`` run the agno components of LOCAL_AGNO_APP
(agentos_bridge.runtime) in a thread, joined with the schedule's timeout; past it the
run is cancelled.
Built-ins for tests and benchmarks: ``/noop`` answers at once, ``/echo`` returns
its payload, ``/sleep`` sleeps ``seconds``.
"""

import logging
import math
import re
import time
from datetime import UTC, datetime

from django.core.exceptions import ImproperlyConfigured

from agentos_bridge.artifacts import store_media
from agentos_bridge.outcome import Outcome, RunRequest
from agentos_bridge.runtime import runner

log = logging.getLogger(__name__)

RUN_PATH = re.compile(r"^/(agents|teams|workflows)/([^/]+)/runs$")
# While a run is in flight, its spans so far are written this often (live progress).
FLUSH_EVERY_S = 1.0
CANCEL_GRACE_S = 1.0


def _now() -> datetime:
    return datetime.now(UTC)


def execute_local(request: RunRequest) -> Outcome:
    sent_at = _now()
    if request.on_sent:
        request.on_sent(sent_at)
    path = request.endpoint.rstrip("/") or "/"
    match = RUN_PATH.match(path)
    if match and request.method == "POST":
        return _run_component(request, match.group(1), match.group(2), sent_at)
    if path == "/noop":
        return Outcome(status="success", status_code=200, request_sent_at=sent_at)
    if path == "/echo":
        return Outcome(
            status="success", status_code=200, output=request.payload, request_sent_at=sent_at
        )
    if path == "/sleep":
        seconds = _seconds(request.payload.get("seconds", 1))
        if seconds is None:
            return Outcome.failure(
                "/sleep needs seconds: a finite number >= 0",
                retryable=False,
                status_code=422,
                request_sent_at=sent_at,
            )
        time.sleep(min(seconds, request.timeout_s))
        if seconds > request.timeout_s:
            return _timeout(request, sent_at)
        return Outcome(status="success", status_code=200, request_sent_at=sent_at)
    return Outcome.failure(
        f"No local agent or workflow serves {request.endpoint}",
        retryable=False,
        status_code=404,
        request_sent_at=sent_at,
    )


def _seconds(value) -> float | None:
    """``value`` as a finite, non-negative number of seconds, or None."""
    if isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _timeout(request: RunRequest, sent_at: datetime, **kw) -> Outcome:
    return Outcome(
        status="timeout",
        error=f"Timed out after {request.timeout_s:g} s",
        retryable=True,
        request_sent_at=sent_at,
        **kw,
    )


def _run_component(request: RunRequest, kind: str, component_id: str, sent_at) -> Outcome:
    payload = request.payload
    try:
        run = runner.prepare(
            kind,
            component_id,
            payload.get("message", ""),
            session_id=str(payload.get("session_id") or ""),
            idempotency_key=request.idempotency_key,
        )
    except runner.UnknownComponent as exc:
        return Outcome.failure(str(exc), retryable=False, status_code=404, request_sent_at=sent_at)
    except ImproperlyConfigured as exc:  # LOCAL_AGNO_APP names nothing usable
        return Outcome.failure(str(exc), retryable=False, request_sent_at=sent_at)
    return _execute(run, request, kind, sent_at)


def continue_local(
    request: RunRequest, run_id: str, session_id: str, step_requirements: list
) -> Outcome:
    """Continue a paused local workflow run with its answered step requirements, in a
    thread joined with the schedule's timeout, as a new run is executed. Never raises."""
    sent_at = _now()
    match = RUN_PATH.match(request.endpoint.rstrip("/"))
    if not match:
        return Outcome.failure(
            f"{request.endpoint} is not a local agent or workflow", retryable=False
        )
    try:
        run = runner.prepare_continue(
            match.group(1), match.group(2), run_id, session_id, step_requirements
        )
    except runner.UnknownComponent as exc:
        return Outcome.failure(str(exc), retryable=False, status_code=404, request_sent_at=sent_at)
    except ImproperlyConfigured as exc:
        return Outcome.failure(str(exc), retryable=False, request_sent_at=sent_at)
    return _execute(run, request, match.group(1), sent_at)


def _execute(run: runner.LocalRun, request: RunRequest, kind: str, sent_at) -> Outcome:
    """Start ``run`` and join it with the timeout, storing its trace as it goes."""
    runner.start(run)
    deadline = time.monotonic() + request.timeout_s
    while not run.done.wait(min(FLUSH_EVERY_S, max(0.0, deadline - time.monotonic()))):
        if time.monotonic() >= deadline:
            run.cancel()
            # A step awaiting something stops at once; give it a moment so the stored
            # trace shows where it was cut off (a step blocking in plain code stays open).
            run.done.wait(CANCEL_GRACE_S)
            _save(run, request, status="ERROR")
            run.release()
            return _timeout(request, sent_at, run_id=run.run_id, session_id=run.session_id)
        _save(run, request)
    _save(run, request)
    run.release()
    store_media(request.run_pk, run.body, source="local")
    outcome = finished(run.as_agentos(), kind, run.error)
    outcome.request_sent_at = sent_at
    outcome.run_id, outcome.session_id = run.run_id, run.session_id
    return outcome


def finished(body: dict, kind: str, error: str = "") -> Outcome:
    """The outcome of a run that ended, from its AgentOS run body."""
    status = str(body.get("status") or "ERROR").upper()
    if status == "PAUSED":
        requirements = body.get("requirements") or body.get("step_requirements")
        return Outcome(status="paused", requirements=requirements)
    if status == "CANCELLED":
        return Outcome(status="cancelled", error=error or "The run was cancelled")
    if status != "COMPLETED":
        # An error inside an agent or step is the run's error: retried by policy.
        return Outcome.failure(error or "The run ended in ERROR", retryable=True)
    steps = [s for s in body.get("step_results") or [] if isinstance(s, dict)]
    output = body.get("content")
    if kind == "workflows":
        output = {"content": output, "step_results": [_step(s) for s in steps]}
    failed = [s for s in steps if s.get("success") is False]
    if failed:
        # agno ends a workflow whose step raised COMPLETED, the error only on the step
        # result (as on an AgentOS): that is a failed run for us, as for remote runs.
        detail = failed[0].get("error") or failed[0].get("content")
        return Outcome.failure(
            f"Step {failed[0].get('step_name')} failed: {detail}", retryable=True, output=output
        )
    return Outcome(status="success", status_code=200, output=output)


def _step(result: dict) -> dict:
    keys = ("step_name", "step_type", "executor_type", "content", "success", "error")
    return {key: result.get(key) for key in keys}


def _save(run: runner.LocalRun, request: RunRequest, status: str = "") -> None:
    from scheduler_admin.models import Target

    try:
        target = Target.objects.filter(name=request.target.name).first()
        run.save(schedule_run_pk=request.run_pk, target=target, status=status)
    except Exception:  # noqa: BLE001 - a trace must never fail the run
        log.exception("run %s: could not store the local trace", request.run_pk)
