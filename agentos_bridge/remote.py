"""AgentOS over HTTP: submit a background run and poll it, or make one plain request.

Every request carries the run's Idempotency-Key, so a redelivered attempt is recognised
by the server; every wait is bounded by the schedule's timeout.
"""

import logging
import re
import time
from datetime import UTC, datetime
from typing import Any

from agentos_bridge import client
from agentos_bridge.client import CallError
from agentos_bridge.firing_trace import FiringTrace
from agentos_bridge.outcome import Outcome, RunRequest

log = logging.getLogger(__name__)

RUN_PATH = re.compile(r"^/(agents|teams|workflows)/([^/]+)/runs$")
TERMINAL = {"COMPLETED", "ERROR", "CANCELLED", "PAUSED"}
FIRST_POLL_S, MAX_POLL_S = 0.2, 5.0
SUBMIT_READ_TIMEOUT_S = 30.0
POLL_READ_TIMEOUT_S = 10.0
# Polls tolerate this many transient failures in a row (restart, proxy hiccup).
MAX_POLL_FAILURES = 3


class _Sender:
    """Wraps client.send: notes the moment the first request leaves."""

    def __init__(self, request: RunRequest):
        self.request = request
        self.sent_at: datetime | None = None

    def __call__(self, method: str, path: str, read_timeout_s: float, **kwargs):
        if self.sent_at is None:
            self.sent_at = datetime.now(UTC)
            if self.request.on_sent:
                self.request.on_sent(self.sent_at)
        return client.send(
            self.request.target,
            method,
            path,
            idempotency_key=self.request.idempotency_key,
            read_timeout_s=read_timeout_s,
            **kwargs,
        )


def execute_remote(request: RunRequest, trace: FiringTrace | None = None) -> Outcome:
    """Execute on a remote AgentOS. Never raises."""
    trace = trace or FiringTrace(request)
    send = _Sender(request)
    path = "/" + request.endpoint.strip("/")
    match = RUN_PATH.match(path)
    try:
        if match and request.method == "POST":
            outcome = _run(request, send, trace, match.group(1), match.group(2))
        else:
            outcome = _plain(request, send, trace, path)
    except CallError as exc:
        outcome = exc.outcome()
    outcome.request_sent_at = send.sent_at
    log.info("run %s: %s on %s: %s", request.run_pk, path, request.target.name, outcome.status)
    if match and outcome.session_id:
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
    with trace.span("request", input=request.payload, method=request.method, path=path) as span:
        response = send(request.method, path, request.timeout_s, **kwargs)
        span.attributes["http.status_code"] = response.status_code
        client.check_status(response, f"{request.method} {path}")
    try:
        output = response.json() if response.content else None
    except ValueError:
        output = response.text[: client.MAX_BODY * 10]
    return Outcome(status="success", status_code=response.status_code, output=output)


def _run(request: RunRequest, send: _Sender, trace, kind: str, component_id: str) -> Outcome:
    path = f"/{kind}/{component_id}/runs"
    form = {**client.form_fields(request.payload), "background": "true", "stream": "false"}
    started = time.monotonic()
    deadline = started + request.timeout_s
    with trace.span("submit", input=request.payload, path=path) as span:
        response = send("POST", path, min(SUBMIT_READ_TIMEOUT_S, request.timeout_s), data=form)
        span.attributes["http.status_code"] = response.status_code
        client.check_status(response, f"POST {path}")
        body = client.parse_json(response, f"POST {path}")
        span.finish(output=body)
    if not isinstance(body, dict) or not body.get("run_id"):
        raise CallError(
            f"POST {path} answered without a run_id: {str(body)[:500]}", retryable=False
        )
    run_id, session_id = str(body["run_id"]), str(body.get("session_id") or "")
    ids = {"run_id": run_id, "session_id": session_id, "status_code": response.status_code}
    trace.root.attributes.update({"agno.run.id": run_id, "session.id": session_id})
    if str(body.get("status", "")).upper() in TERMINAL:
        return _finished(body, kind, ids)
    delay, polls, failures = FIRST_POLL_S, 0, 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            _cancel(send, f"{path}/{run_id}/cancel", session_id)
            return Outcome(
                status="timeout",
                error=f"Timed out after {request.timeout_s:g} s; run {run_id} was still running",
                retryable=True,
                **ids,
            )
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, MAX_POLL_S)
        polls += 1
        read_s = max(0.1, min(POLL_READ_TIMEOUT_S, deadline - time.monotonic()))
        with trace.span(f"poll {polls}", run_id=run_id) as span:
            try:
                response = send(
                    "GET", f"{path}/{run_id}", read_s, params={"session_id": session_id}
                )
            except CallError as exc:
                failures += 1
                span.finish(error=str(exc))
                if failures >= MAX_POLL_FAILURES or not exc.retryable:
                    raise
                continue
            span.attributes["http.status_code"] = response.status_code
            if response.status_code == 404:  # not stored yet
                span.finish(output="not stored yet")
                continue
            if response.status_code >= 500 and failures + 1 < MAX_POLL_FAILURES:
                failures += 1
                span.finish(error=f"HTTP {response.status_code}")
                continue
            client.check_status(response, f"GET {path}/{run_id}")
            body = client.parse_json(response, f"GET {path}/{run_id}")
            failures = 0
            status = str(body.get("status", "")).upper() if isinstance(body, dict) else ""
            span.finish(output=status)
        if status in TERMINAL:
            return _finished(body, kind, ids)


def _finished(body: dict, kind: str, ids: dict) -> Outcome:
    status = str(body.get("status", "")).upper()
    error = _error_text(body)
    if status == "PAUSED":
        return Outcome(status="paused", requirements=body.get("requirements"), **ids)
    if status == "CANCELLED":
        return Outcome(status="cancelled", error=error or "The run was cancelled", **ids)
    if status == "ERROR":
        # The agent failed: a flaky agent is worth another attempt, by policy.
        return Outcome.failure(error or "The run ended in ERROR", retryable=True, **ids)
    steps = body.get("step_results") or []
    failed = [s for s in steps if isinstance(s, dict) and s.get("success") is False]
    output = body.get("content")
    if kind == "workflows":
        output = {"content": output, "step_results": [_step(s) for s in steps]}
    if failed:
        # AgentOS reports a workflow whose step raised as COMPLETED, with the error
        # only on the step result: that is a failed run for us.
        step = failed[0]
        message = f"Step {step.get('step_name')} failed: {step.get('error') or step.get('content')}"
        return Outcome(status="failed", error=message, retryable=True, output=output, **ids)
    return Outcome(status="success", output=output, **ids)


def _step(result: dict) -> dict:
    keys = ("step_name", "step_type", "executor_type", "content", "success", "error")
    return {key: result.get(key) for key in keys}


def _error_text(body: dict) -> str:
    error = body.get("error")
    if isinstance(error, dict):
        error = error.get("message") or str(error)
    if not error and str(body.get("status", "")).upper() == "ERROR":
        error = body.get("content")
    return str(error or "")[: client.MAX_BODY]


def _cancel(send: _Sender, path: str, session_id: str) -> None:
    """Best effort: ask the server to stop a run we gave up on."""
    try:
        send("POST", path, 2.0, data={"session_id": session_id})
    except CallError as exc:
        log.info("cancel %s failed: %s", path, exc)
