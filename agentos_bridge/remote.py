"""AgentOS over HTTP: submit a background run and poll it, or make one plain request.

Every request carries the run's Idempotency-Key, so a redelivered attempt is recognised
by the server; every wait is bounded by the schedule's timeout.
"""

import logging
import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from agentos_bridge import client
from agentos_bridge.client import CallError
from agentos_bridge.firing_trace import FiringTrace
from agentos_bridge.outcome import Outcome, RunRequest, TargetInfo

log = logging.getLogger(__name__)

RUN_PATH = re.compile(r"^/(agents|teams|workflows)/([^/]+)/runs$")
TERMINAL = {"COMPLETED", "ERROR", "CANCELLED", "PAUSED"}
FIRST_POLL_S, MAX_POLL_S = 0.2, 5.0
SUBMIT_READ_TIMEOUT_S = 30.0
POLL_READ_TIMEOUT_S = 10.0


class _Sender:
    """Wraps client.send: notes the moment the first request leaves and caps every
    connect timeout to the time left before the run's deadline."""

    def __init__(self, request: RunRequest, deadline: float):
        self.request = request
        self.deadline = deadline
        self.sent_at: datetime | None = None

    def mark_sent(self) -> None:
        if self.sent_at is None:
            self.sent_at = datetime.now(UTC)
            if self.request.on_sent:
                self.request.on_sent(self.sent_at)

    def __call__(self, method: str, path: str, read_timeout_s: float, deadline=None, **kwargs):
        self.mark_sent()
        return client.send(
            self.request.target,
            method,
            path,
            idempotency_key=self.request.idempotency_key,
            read_timeout_s=read_timeout_s,
            deadline=deadline or self.deadline,
            **kwargs,
        )


def execute_remote(request: RunRequest, trace: FiringTrace | None = None) -> Outcome:
    """Execute on a remote AgentOS. Never raises."""
    trace = trace or FiringTrace(request)
    send = _Sender(request, time.monotonic() + request.timeout_s)
    path = "/" + request.endpoint.strip("/")
    match = RUN_PATH.match(path)
    try:
        if match and request.method == "POST":
            outcome = _run(request, send, trace, match.group(1), match.group(2))
        else:
            outcome = _plain(request, send, trace, path)
    except CallError as exc:
        outcome = exc.outcome()
        if str(exc).startswith("Timed out after"):
            outcome.status = "timeout"  # the run's wall-clock deadline, not a socket's
    outcome.request_sent_at = send.sent_at
    log.info("run %s: %s on %s: %s", request.run_pk, path, request.target.name, outcome.status)
    if match and outcome.session_id and outcome.status != "timeout":
        from agentos_bridge.remote_traces import import_run

        with trace.span("import session and trace") as span:
            span.finish(output=import_run(request, match.group(1), outcome, send.sent_at))
    return outcome


def _plain(request: RunRequest, send: _Sender, trace: FiringTrace, path: str) -> Outcome:
    kwargs: dict[str, Any] = {}
    if request.method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = request.payload
    elif request.payload:
        kwargs["params"] = client.form_fields(request.payload)
    target = request.target
    with trace.span("request", input=request.payload, method=request.method, path=path) as span:
        send.mark_sent()
        try:
            # The whole answer by the run's deadline, however slowly the server sends it.
            response = client.send_by(
                send.deadline,
                target,
                request.method,
                path,
                idempotency_key=request.idempotency_key,
                **kwargs,
            )
        except CallError as exc:
            if exc.delivered is None and time.monotonic() >= send.deadline - 0.05:
                raise CallError(
                    f"Timed out after {request.timeout_s:g} s: {target.name} had not answered "
                    f"{request.method} {path}",
                    retryable=True,
                ) from None
            raise
        span.attributes["http.status_code"] = response.status_code
        client.check_status(response, f"{request.method} {path}", target)
    try:
        output = response.json() if response.content else None
    except ValueError:
        output = client.clip(response.text, client.MAX_BODY * 10, target)
    output = client.redact(output, target)
    return Outcome(status="success", status_code=response.status_code, output=output)


def _run(request: RunRequest, send: _Sender, trace, kind: str, component_id: str) -> Outcome:
    path = f"/{kind}/{component_id}/runs"
    target = request.target
    form = {**client.form_fields(request.payload), "background": "true", "stream": "false"}
    with trace.span("submit", input=request.payload, path=path) as span:
        response = send("POST", path, min(SUBMIT_READ_TIMEOUT_S, request.timeout_s), data=form)
        span.attributes["http.status_code"] = response.status_code
        client.check_status(response, f"POST {path}", target)
        body = client.parse_json(response, f"POST {path}", target)
        span.finish(output=client.redact(body, target))
    if not isinstance(body, dict) or not body.get("run_id"):
        raise CallError(
            f"POST {path} answered without a run_id: {client.clip(body, 500, target)}",
            retryable=False,
        )
    run_id, session_id = str(body["run_id"]), str(body.get("session_id") or "")
    ids = {"run_id": run_id, "session_id": session_id, "status_code": response.status_code}
    trace.root.attributes.update({"agno.run.id": run_id, "session.id": session_id})
    if str(body.get("status", "")).upper() in TERMINAL:
        return _finished(body, kind, ids, target)
    try:
        run_path = f"{path}/{quote(run_id, safe='')}"
        return _poll(request, send, trace, run_path, session_id, kind, ids)
    except CallError as exc:
        # The server has the run: whatever went wrong, the outcome names it.
        outcome = exc.outcome(run_id=ids["run_id"], session_id=ids["session_id"])
        outcome.status_code = exc.status_code or ids["status_code"]
        return outcome


def _poll(request, send: _Sender, trace, run_path: str, session_id: str, kind: str, ids: dict):
    """Poll until the run ends or the deadline passes. Once the server accepted the run,
    transient failures (connection errors, timeouts, 404 not stored yet, 5xx) do not end
    the wait: only the deadline or a non-retryable answer does."""
    target, deadline = request.target, send.deadline
    delay, polls, last_problem = FIRST_POLL_S, 0, ""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            _cancel(send, f"{run_path}/cancel", session_id)
            error = (
                f"Timed out after {request.timeout_s:g} s; run {ids['run_id']} was still running"
            )
            if last_problem:
                error += f" (last poll: {last_problem[:200]})"
            return Outcome(status="timeout", error=error, retryable=True, **ids)
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, MAX_POLL_S)
        polls += 1
        read_s = max(0.1, min(POLL_READ_TIMEOUT_S, deadline - time.monotonic()))
        with trace.span(f"poll {polls}", run_id=ids["run_id"]) as span:
            try:
                response = send("GET", run_path, read_s, params={"session_id": session_id})
            except CallError as exc:
                span.finish(error=str(exc))
                if not exc.retryable:
                    raise
                last_problem = str(exc)
                continue
            span.attributes["http.status_code"] = response.status_code
            if response.status_code == 404:  # not stored yet
                span.finish(output="not stored yet")
                continue
            try:
                client.check_status(response, f"GET {run_path}", target)
                body = client.parse_json(response, f"GET {run_path}", target)
            except CallError as exc:
                span.finish(error=str(exc))
                if not (exc.retryable or response.status_code >= 500):
                    raise
                last_problem = str(exc)
                continue
            status = str(body.get("status", "")).upper() if isinstance(body, dict) else ""
            span.finish(output=status)
        if status in TERMINAL:
            return _finished(body, kind, ids, target)


def _finished(body: dict, kind: str, ids: dict, target: TargetInfo) -> Outcome:
    status = str(body.get("status", "")).upper()
    error = _error_text(body, target)
    if status == "PAUSED":
        # Agents and teams name them "requirements", workflows "step_requirements".
        requirements = body.get("requirements") or body.get("step_requirements")
        requirements = client.redact(requirements, target)
        return Outcome(status="paused", requirements=requirements, **ids)
    if status == "CANCELLED":
        return Outcome(status="cancelled", error=error or "The run was cancelled", **ids)
    if status == "ERROR":
        # The agent failed: a flaky agent is worth another attempt, by policy.
        return Outcome.failure(error or "The run ended in ERROR", retryable=True, **ids)
    steps = body.get("step_results")
    steps = steps if isinstance(steps, list) else []
    failed = [s for s in steps if isinstance(s, dict) and s.get("success") is False]
    output = body.get("content")
    if kind == "workflows":
        output = {"content": output, "step_results": [_step(s) for s in steps]}
    output = client.redact(output, target)
    if failed:
        # AgentOS reports a workflow whose step raised as COMPLETED, with the error
        # only on the step result: that is a failed run for us.
        step = failed[0]
        detail = step.get("error") or step.get("content")
        message = client.clip(
            f"Step {step.get('step_name')} failed: {detail}", client.MAX_BODY, target
        )
        return Outcome(status="failed", error=message, retryable=True, output=output, **ids)
    return Outcome(status="success", output=output, **ids)


def _step(result: Any) -> dict:
    keys = ("step_name", "step_type", "executor_type", "content", "success", "error")
    if not isinstance(result, dict):
        # Not a step result as AgentOS sends them: keep it as content, nothing else.
        return {key: (result if key == "content" else None) for key in keys}
    return {key: result.get(key) for key in keys}


def _error_text(body: dict, target: TargetInfo) -> str:
    error = body.get("error")
    if isinstance(error, dict):
        error = error.get("message") or str(error)
    if not error and str(body.get("status", "")).upper() == "ERROR":
        error = body.get("content")
    return client.clip(error or "", client.MAX_BODY, target)


def _cancel(send: _Sender, path: str, session_id: str) -> None:
    """Best effort: ask the server to stop a run we gave up on (2 s of its own)."""
    try:
        send("POST", path, 2.0, deadline=time.monotonic() + 2.0, data={"session_id": session_id})
    except CallError as exc:
        log.info("cancel %s failed: %s", path, exc)
