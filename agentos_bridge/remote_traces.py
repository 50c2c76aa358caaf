"""After a remote run: import its session and trace as AgentSession, Trace and Span rows.

Finding the trace is the delicate part. On a real AgentOS the root span of a
background run is the HTTP request span, so the trace summary's run_id and
session_id can be empty while an inner span carries ``session.id``; and traces are
exported asynchronously. So: try the run_id and session_id filters, then look
through recent traces for an inner span naming our run or session, polling briefly.
Media on the run output (audio, images) are stored as the run's artifacts.
The session request, the trace search and the media request share one small budget (IMPORT_BUDGET_S,
checked before each request), and a trace's details are fetched at most once per import.
Nothing here fails the run: errors are logged and the run's outcome stands.
"""

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from agentos_bridge import client
from agentos_bridge.outcome import Outcome, RunRequest
from agentos_bridge.spans import parse_time, records_from_tree, save_trace

log = logging.getLogger(__name__)

TRACE_WAIT_S = 5.0
IMPORT_BUDGET_S = 5.0
READ_TIMEOUT_S = 5.0
RECENT_TRACES = 20
SESSION_TYPES = {"agents": "agent", "teams": "team", "workflows": "workflow"}


def import_run(
    request: RunRequest,
    kind: str,
    outcome: Outcome,
    sent_at: datetime | None,
    *,
    wait: bool = True,
) -> str:
    """Import what the server kept of the run; return a one-line summary. With
    ``wait=False`` the trace is searched for once (the caller tries again later if it
    is exported late), so a server with tracing off costs one request, not seconds."""
    found = []
    fetch = _Fetcher(request, time.monotonic() + IMPORT_BUDGET_S)
    fetch.wait = wait
    try:
        _import_session(fetch, SESSION_TYPES[kind], outcome.session_id)
        found.append("session")
    except Exception as exc:  # noqa: BLE001 - see module docstring
        log.warning("run %s: session %s not imported: %s", request.run_pk, outcome.session_id, exc)
    try:
        trace_id = _import_trace(fetch, outcome, sent_at)
        found.append(f"trace {trace_id}" if trace_id else "no trace")
    except Exception as exc:  # noqa: BLE001 - see module docstring
        log.warning("run %s: trace not imported: %s", request.run_pk, exc)
        found.append("trace import failed")
    try:
        stored = _import_media(fetch, kind, outcome)
        if stored:
            found.append(f"{stored} artifact(s)")
    except Exception as exc:  # noqa: BLE001 - see module docstring
        log.warning("run %s: media not imported: %s", request.run_pk, exc)
    return ", ".join(found)


def _import_media(fetch: "_Fetcher", kind: str, outcome: Outcome) -> int:
    """Audio, images, videos and files on the run output become the run's artifacts."""
    from agentos_bridge.artifacts import store_media

    component_id = fetch.request.endpoint.strip("/").split("/")[1]
    path = f"/{kind}/{quote(component_id, safe='')}/runs/{quote(outcome.run_id, safe='')}"
    body = fetch.get(path, {"session_id": outcome.session_id})
    return store_media(fetch.request.run_pk, body, source="remote")


class _Fetcher:
    """GETs for one import: bounded by a shared deadline, trace details cached."""

    def __init__(self, request: RunRequest, deadline: float):
        self.request, self.deadline = request, deadline
        self.wait = True
        self.details: dict[str, Any] = {}

    def get(self, path: str, params: dict | None = None) -> Any:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise client.CallError("the import's time budget is spent", retryable=False)
        target = self.request.target
        response = client.send(
            target,
            "GET",
            path,
            idempotency_key=self.request.idempotency_key,
            read_timeout_s=min(READ_TIMEOUT_S, remaining),
            deadline=self.deadline,
            params=params or {},
        )
        client.check_status(response, f"GET {path}", target)
        return client.redact(client.parse_json(response, f"GET {path}", target), target)

    def trace(self, trace_id: Any) -> dict:
        key = str(trace_id)
        if key not in self.details:
            detail = self.get(f"/traces/{quote(key, safe='')}")
            self.details[key] = detail if isinstance(detail, dict) else {}
        return self.details[key]


def _import_session(fetch: _Fetcher, session_type: str, session_id: str) -> None:
    from scheduler_admin.models import AgentSession, Target

    request = fetch.request
    body = fetch.get(f"/sessions/{quote(session_id, safe='')}", {"type": session_type})
    if not isinstance(body, dict):
        raise ValueError("the session answer is not an object")
    data = body.get(f"{session_type}_data")
    AgentSession.objects.update_or_create(
        session_id=session_id,
        defaults={
            "session_type": session_type,
            "component_id": str(body.get(f"{session_type}_id") or "")[:128],
            "session_name": str(body.get("session_name") or "")[:255],
            "user_id": str(body.get("user_id") or "")[:128],
            "session_state": body.get("session_state"),
            "data": data,
            "target": Target.objects.filter(name=request.target.name).first(),
            "created_at": parse_time(body.get("created_at")),
            "updated_at": parse_time(body.get("updated_at")),
        },
    )


def _import_trace(fetch: _Fetcher, outcome: Outcome, sent_at: datetime | None) -> str:
    from scheduler_admin.models import ScheduleRun, Target, Trace

    request = fetch.request
    detail = _find_trace(fetch, outcome, sent_at)
    if detail is None:
        return ""
    trace_id = str(detail["trace_id"])[:64]
    run_pk = request.run_pk
    if run_pk and not ScheduleRun.objects.filter(pk=run_pk).exists():
        run_pk = None
    existing = Trace.objects.filter(trace_id=trace_id).first()
    if existing is not None:
        # Already stored: never overwrite it (the in-process runtime served over HTTP
        # shares our database, so it may be our own local trace).
        if run_pk and existing.schedule_run_id is None:
            Trace.objects.filter(pk=existing.pk).update(schedule_run_id=run_pk)
        return trace_id
    spans = records_from_tree(detail.get("tree") or [])
    save_trace(
        spans,
        trace_id=trace_id,
        name=str(detail.get("name") or "")[:255],
        status=str(detail.get("status") or "UNSET")[:16],
        run_id=outcome.run_id[:64],
        session_id=outcome.session_id[:64],
        agent_id=str(detail.get("agent_id") or "")[:128],
        team_id=str(detail.get("team_id") or "")[:128],
        workflow_id=str(detail.get("workflow_id") or "")[:128],
        source="remote",
        schedule_run_id=run_pk,
        target=Target.objects.filter(name=request.target.name).first(),
    )
    return trace_id


def _find_trace(fetch: _Fetcher, outcome: Outcome, sent_at: datetime | None) -> dict | None:
    deadline = min(time.monotonic() + TRACE_WAIT_S, fetch.deadline)
    since = (sent_at or datetime.now(UTC)) - timedelta(seconds=2)
    while True:
        detail = _search(fetch, outcome, since)
        if detail is not None or not fetch.wait or time.monotonic() + 0.3 >= deadline:
            return detail
        time.sleep(0.3)


def _rows(body: Any) -> list[dict]:
    rows = body.get("data") if isinstance(body, dict) else None
    if not isinstance(rows, list):
        return []
    return [row for row in rows if isinstance(row, dict) and row.get("trace_id")]


def _search(fetch: _Fetcher, outcome: Outcome, since: datetime) -> dict | None:
    for params in ({"run_id": outcome.run_id}, {"session_id": outcome.session_id}):
        rows = _rows(fetch.get("/traces", {**params, "limit": 5}))
        if rows:
            detail = fetch.trace(rows[0]["trace_id"])
            return detail if detail.get("trace_id") else None
    since_iso = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    params = {"start_time": since_iso, "limit": RECENT_TRACES}
    for row in _rows(fetch.get("/traces", params)):
        detail = fetch.trace(row["trace_id"])
        if detail.get("trace_id") and _mentions(
            detail.get("tree") or [], outcome.run_id, outcome.session_id
        ):
            return detail
    return None


def _mentions(nodes: list, run_id: str, session_id: str) -> bool:
    """Does any span carry our run or session id (metadata or raw attributes)?"""
    for node in nodes:
        meta = {**(node.get("attributes") or {}), **(node.get("metadata") or {})}
        ids = {
            meta.get("run_id"),
            meta.get("session_id"),
            meta.get("agno.run.id"),
            meta.get("session.id"),
        }
        if (run_id and run_id in ids) or (session_id and session_id in ids):
            return True
        if _mentions(node.get("spans") or [], run_id, session_id):
            return True
    return False
