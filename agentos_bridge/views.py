"""The in-process runtime served over HTTP in AgentOS's shapes (base URL …/agentos).

Off unless AGENTOS_LOCAL_TOKEN is set; every call then needs
``Authorization: Bearer <that value>``.

Only what this runtime produced is served: traces with source="local" and the sessions
of those traces (never the scheduler's own traces or ones imported from elsewhere).
At most MAX_CONCURRENT_RUNS runs go at once (beyond: 429 with Retry-After). A run
asked for with background=false is answered when it ends or after SYNC_WAIT_S at the
latest: then 504 with its run_id, and it goes on in the background (poll it).
Run polling needs a single web process: the runs live in this process's memory.
"""

import hmac
import os
import threading
from functools import wraps

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from agentos_bridge import agentos_shapes as shapes
from agentos_bridge.runtime import registry, runner
from scheduler_admin.models import AgentSession, Trace

TOKEN_ENV = "AGENTOS_LOCAL_TOKEN"
MAX_CONCURRENT_RUNS = 16
SYNC_WAIT_S = 60.0
START_WAIT_S = 10.0  # until agno has given the run its id (imports on a first run)
RETRY_AFTER_S = 5


class RunSlots:
    """A counting semaphore that can also say when every slot is free again."""

    def __init__(self, size: int):
        self.size, self.used = size, 0
        self._cond = threading.Condition()

    def take(self) -> bool:
        with self._cond:
            if self.used >= self.size:
                return False
            self.used += 1
            return True

    def give(self) -> None:
        with self._cond:
            self.used -= 1
            self._cond.notify_all()

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until no run holds a slot (tests: no thread writes after they end)."""
        with self._cond:
            return self._cond.wait_for(lambda: self.used == 0, timeout=timeout_s)


run_slots = RunSlots(MAX_CONCURRENT_RUNS)


def agentos_endpoint(view):
    """Public to the login middleware and CSRF, guarded by the bearer token instead."""

    @login_not_required
    @csrf_exempt
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        expected = os.environ.get(TOKEN_ENV, "")
        if not expected:
            return JsonResponse(
                {"detail": f"The local AgentOS endpoint is disabled: set {TOKEN_ENV}"}, status=503
            )
        header = request.headers.get("Authorization", "")
        given = header[7:] if header.startswith("Bearer ") else ""
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return JsonResponse({"detail": "Invalid or missing bearer token"}, status=401)
        return view(request, *args, **kwargs)

    return wrapped


@agentos_endpoint
@require_GET
def health(request):
    return JsonResponse({"status": "ok"})


@agentos_endpoint
@require_GET
def agent_list(request):
    return JsonResponse(_listing("agents"), safe=False)


@agentos_endpoint
@require_GET
def team_list(request):
    return JsonResponse(_listing("teams"), safe=False)


@agentos_endpoint
@require_GET
def workflow_list(request):
    return JsonResponse(_listing("workflows"), safe=False)


def _listing(kind: str) -> list[dict]:
    rows = []
    for component_id in registry.ids(kind):
        component = registry.get(kind, component_id)
        name = getattr(component, "name", None) or component_id
        description = getattr(component, "description", None) or ""
        rows.append({"id": component_id, "name": name, "description": description})
    return rows


@agentos_endpoint
@require_POST
def run_create(request, kind: str, component_id: str):
    message = request.POST.get("message", "")
    if not message.strip():
        return JsonResponse(
            {"detail": [{"loc": ["body", "message"], "msg": "Field required"}]}, 422
        )
    try:
        run = runner.prepare(
            kind,
            component_id,
            message,
            session_id=request.POST.get("session_id", ""),
            idempotency_key=request.headers.get("Idempotency-Key", ""),
        )
    except runner.UnknownComponent as exc:
        return JsonResponse({"detail": str(exc)}, status=404)
    if not run_slots.take():
        answer = JsonResponse(
            {"detail": f"Too many runs in progress (at most {MAX_CONCURRENT_RUNS})"}, status=429
        )
        answer["Retry-After"] = str(RETRY_AFTER_S)
        return answer
    saved = threading.Event()
    thread = threading.Thread(target=_run_and_save, args=(run, saved), daemon=True)
    thread.start()
    # agno picks the run_id as the run starts (arun with background=True, as AgentOS).
    run.started.wait(START_WAIT_S)
    if not run.run_id:  # agno refused the run before it had an id
        detail = run.error or f"The run did not start within {START_WAIT_S:g} s"
        return JsonResponse({"detail": detail}, status=500)
    runner.remember(run)
    ids = {"run_id": run.run_id, "session_id": run.session_id}
    if request.POST.get("background", "false").lower() == "true":
        return JsonResponse({**ids, "status": "PENDING"}, status=202)
    if not saved.wait(SYNC_WAIT_S):
        detail = f"The run did not finish within {SYNC_WAIT_S:g} s; it goes on: poll its run_id"
        return JsonResponse({**ids, "status": run.status, "detail": detail}, status=504)
    return JsonResponse(run.as_agentos())


def _run_and_save(run: runner.LocalRun, saved: threading.Event) -> None:
    try:
        run.execute()
        run.save()
    finally:
        connection.close()  # this thread's own connection
        saved.set()
        run_slots.give()


@agentos_endpoint
@require_GET
def run_detail(request, kind: str, component_id: str, run_id: str):
    run = runner.recall(run_id)
    if run is None or run.kind != kind or run.component_id != component_id:
        return JsonResponse({"detail": "Run not found"}, status=404)
    return JsonResponse(run.as_agentos())


@agentos_endpoint
@require_GET
def session_detail(request, session_id: str):
    session = AgentSession.objects.filter(session_id=session_id).first()
    if session is None or not _local_traces().filter(session_id=session_id).exists():
        return JsonResponse({"detail": "Session not found"}, status=404)
    return JsonResponse(shapes.session(session))


@agentos_endpoint
@require_GET
def trace_list(request):
    try:
        return JsonResponse(shapes.trace_page(_local_traces(), request.GET))
    except shapes.BadQuery as exc:
        return JsonResponse({"detail": [exc.problem]}, status=422)


@agentos_endpoint
@require_GET
def trace_detail(request, trace_id: str):
    trace = _local_traces().filter(trace_id=trace_id).first()
    if trace is None:
        return JsonResponse({"detail": "Trace not found"}, status=404)
    return JsonResponse(shapes.trace_detail(trace))


def _local_traces():
    return Trace.objects.filter(source="local")
