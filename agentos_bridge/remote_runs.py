"""A background run on an AgentOS as short, separate steps: submit, check, find, cancel.

No step waits for the run to end. The engine stores what each step learns (the run id,
the status) and decides when to take the next one, so no process holds anything while
an agent works, and a step interrupted by a crash is simply taken again:

- ``submit`` sends the run under a session id we chose; its answer is the run id, a
  definite failure (the server refused it, or never received it), "busy" (429: try
  the same attempt later), or unknown (sent, answer lost).
- ``find`` asks the server whether it has a run in that session: how an unknown submit
  is settled without sending the run twice (AgentOS ignores Idempotency-Key).
- ``check`` reads the run's status once: an Outcome when it has ended, else None.
- ``cancel`` asks the server to stop it.
"""

import json
import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from agentos_bridge import client
from agentos_bridge.client import CallError
from agentos_bridge.outcome import Outcome, RunRequest
from agentos_bridge.remote import TERMINAL, _finished

log = logging.getLogger(__name__)

RUN_PATH = re.compile(r"^/(agents|teams|workflows)/([^/]+)/runs$")
SUBMIT_TIMEOUT_S = 30.0
CHECK_TIMEOUT_S = 10.0


def component(endpoint: str) -> tuple[str, str] | None:
    """("workflows", "digest") for "/workflows/digest/runs"; None for other endpoints."""
    match = RUN_PATH.match("/" + endpoint.strip("/"))
    return (match.group(1), match.group(2)) if match else None


def is_background_run(request: RunRequest) -> bool:
    return (
        not request.target.is_local
        and request.method == "POST"
        and component(request.endpoint) is not None
    )


def session_for(request: RunRequest) -> str:
    """The payload's own session id when it names one, else ours."""
    own = request.payload.get("session_id") if isinstance(request.payload, dict) else None
    return str(own) if own else request.session_id


@dataclass
class Submitted:
    run_id: str = ""
    session_id: str = ""
    status_code: int | None = None
    outcome: Outcome | None = None  # a definite end (failure, or already finished)
    busy_for_s: float | None = None  # 429: the server is full; same attempt, later
    unknown: str = ""  # sent, answer lost: why


def submit(request: RunRequest, deadline: float, timeout_s: float = SUBMIT_TIMEOUT_S) -> Submitted:
    """Send the background run; its answer counts as lost after ``timeout_s`` (or at
    the run's ``deadline``). Never raises."""
    kind, component_id = component(request.endpoint)
    path = f"/{kind}/{component_id}/runs"
    target = request.target
    session_id = session_for(request)
    form = {**client.form_fields(request.payload), "background": "true", "stream": "false"}
    if session_id:
        form["session_id"] = session_id
    try:
        response = client.send_by(
            min(deadline, time.monotonic() + timeout_s),
            target,
            "POST",
            path,
            idempotency_key=request.idempotency_key,
            data=form,
        )
    except CallError as exc:
        if exc.delivered is False:
            return Submitted(outcome=exc.outcome())
        return Submitted(session_id=session_id, unknown=str(exc))
    if response.status_code == 429:
        wait = client.retry_after_s(response)
        return Submitted(status_code=429, busy_for_s=wait if wait is not None else 5.0)
    try:
        client.check_status(response, f"POST {path}", target)
        body = client.parse_json(response, f"POST {path}", target)
    except CallError as exc:
        return Submitted(status_code=response.status_code, outcome=exc.outcome())
    if not isinstance(body, dict) or not body.get("run_id"):
        text = client.redact(str(body), target)[:500]
        error = f"POST {path} answered without a run_id: {text}"
        return Submitted(outcome=Outcome.failure(error, retryable=False, status_code=200))
    ids = {
        "run_id": str(body["run_id"])[:64],
        "session_id": str(body.get("session_id") or session_id)[:64],
        "status_code": response.status_code,
    }
    done = None
    if str(body.get("status", "")).upper() in TERMINAL:
        done = _finished(body, kind, ids, target)
    return Submitted(**ids, outcome=done)


def check(request: RunRequest, run_id: str, session_id: str) -> tuple[Outcome | None, str]:
    """One look at the run: (its outcome, "") when it has ended, (None, why not) while it
    runs or when the look failed in a way worth another look later. A non-retryable
    answer (401, 403, invalid JSON) ends the run as failed."""
    kind, component_id = component(request.endpoint)
    path = f"/{kind}/{component_id}/runs/{quote(run_id, safe='')}"
    target = request.target
    ids = {"run_id": run_id, "session_id": session_id}
    try:
        response = _get(request, path, session_id, max_bytes=client.MAX_RUN_BODY_BYTES)
    except CallError as exc:
        if exc.retryable:
            return None, str(exc)
        return exc.outcome(**ids), ""
    if response.status_code == 404:
        return None, "not stored yet (404)"
    try:
        client.check_status(response, f"GET {path}", target)
        body = client.parse_json(response, f"GET {path}", target)
    except CallError as exc:
        if exc.retryable or response.status_code >= 500:
            return None, str(exc)
        return exc.outcome(**ids), ""
    status = str(body.get("status", "")).upper() if isinstance(body, dict) else ""
    if status in TERMINAL:
        return _finished(body, kind, {**ids, "status_code": response.status_code}, target), ""
    return None, status.lower() or "running"


def find(request: RunRequest, session_id: str, since: datetime | None) -> tuple[str | None, bool]:
    """(run_id or None, whether the answer is definite). Looks for a run of this
    component in ``session_id``; with a session of our own making there is at most one,
    with the payload's own session the newest started at or after ``since``."""
    kind, component_id = component(request.endpoint)
    path = f"/{kind}/{component_id}/runs"
    target = request.target
    try:
        response = _get(request, path, session_id)
    except CallError:
        return None, False
    if response.status_code == 404:
        return None, True  # no such session: the run never arrived
    try:
        client.check_status(response, f"GET {path}", target)
        runs = client.parse_json(response, f"GET {path}", target)
    except CallError:
        return None, False
    if not isinstance(runs, list):
        return None, False
    floor = since.timestamp() - 5 if since and session_id != request.session_id else None
    found = [
        r
        for r in runs
        if isinstance(r, dict)
        and r.get("run_id")
        and (floor is None or _created(r) is None or _created(r) >= floor)
    ]
    if not found:
        return None, True
    found.sort(key=lambda r: _created(r) or 0)
    return str(found[-1]["run_id"])[:64], True


def _get(request: RunRequest, path: str, session_id: str, **kwargs):
    """One GET of a run resource."""
    return _call(request, "GET", path, params={"session_id": session_id}, **kwargs)


def _call(request: RunRequest, method: str, path: str, **kwargs):
    """One request about a run, over within CHECK_TIMEOUT_S whatever the server does."""
    return client.send_by(
        time.monotonic() + CHECK_TIMEOUT_S,
        request.target,
        method,
        path,
        idempotency_key=request.idempotency_key,
        **kwargs,
    )


def _created(run: dict) -> float | None:
    value = run.get("created_at")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC).timestamp()
        except ValueError:
            return None
    return None


def cancel(request: RunRequest, run_id: str, session_id: str) -> tuple[bool, str]:
    """Ask the server to stop the run: (True, "") when it took the request or no longer
    has the run, (False, why) when it could not be asked."""
    kind, component_id = component(request.endpoint)
    path = f"/{kind}/{component_id}/runs/{quote(run_id, safe='')}/cancel"
    try:
        response = _call(request, "POST", path, data={"session_id": session_id})
    except CallError as exc:
        return False, str(exc)
    if response.status_code < 300 or response.status_code == 404:
        return True, ""
    return False, f"HTTP {response.status_code} from POST {path}"


@dataclass
class Continued:
    """What a continue call came to: "sent" (the server took the answer), "not paused"
    (409: the run had moved on, someone's answer is already in), "unknown" (sent, answer
    lost: ask the server before sending again), "refused" (a definite error)."""

    state: str
    detail: str = ""


CONTINUE_TIMEOUT_S = 10.0


def continue_run(
    request: RunRequest, run_id: str, session_id: str, requirements: list
) -> Continued:
    """Send a person's answer to a paused run: a workflow's answered
    ``step_requirements``; an agent's tool executions as ``tools``; a team's
    ``requirements``. For a workflow a durable background continue is tried first; a
    stock AgentOS without a durable queue refuses it (409), and then the answer is sent
    inline, bounded by CONTINUE_TIMEOUT_S: a continuation that takes longer goes on on
    the server and the follower reads its end. Agents and teams are sent inline at once
    (without a durable queue AgentOS would run a background continue inline anyway).
    Never raises."""
    kind, component_id = component(request.endpoint)
    path = f"/{kind}/{component_id}/runs/{quote(run_id, safe='')}/continue"
    form = {"session_id": session_id, "stream": "false"}
    if kind == "agents":
        tools = [item.get("tool_execution") for item in requirements if isinstance(item, dict)]
        form["tools"] = json.dumps([tool for tool in tools if isinstance(tool, dict)])
        return _send_continue(request, path, form)
    if kind == "teams":
        form["requirements"] = json.dumps(requirements)
        return _send_continue(request, path, form)
    form["step_requirements"] = json.dumps(requirements)
    result = _send_continue(request, path, {**form, "background": "true"})
    if result.state == "not paused" and "background=true continuation" in result.detail:
        result = _send_continue(request, path, form)
    return result


def _send_continue(request: RunRequest, path: str, form: dict) -> Continued:
    try:
        response = client.send_by(
            time.monotonic() + CONTINUE_TIMEOUT_S,
            request.target,
            "POST",
            path,
            idempotency_key=f"{request.idempotency_key}-continue",
            max_bytes=client.MAX_RUN_BODY_BYTES,
            data=form,
        )
    except CallError as exc:
        # Not sent, or sent with the answer lost: either way the follower asks the
        # server whether the run is still paused before sending the answer again.
        return Continued("unknown", str(exc))
    if response.status_code < 300:
        return Continued("sent")
    detail = client.clip(response.text, 500, request.target)
    if response.status_code == 409:
        return Continued("not paused", detail)
    if response.status_code >= 500 or response.status_code == 429:
        return Continued("unknown", f"HTTP {response.status_code}: {detail}")
    return Continued("refused", f"HTTP {response.status_code} from POST {path}: {detail}")
