"""A protocol-faithful stand-in for an AgentOS, for runs-in-flight figures beyond what a
real agno server holds on a 2-core machine (benchmarks/inflight.py --standin).

It speaks the parts of the AgentOS run API the scheduler uses, with the same shapes:
``POST /workflows/<id>/runs`` (form fields, background) answers ``{run_id, session_id,
status: "RUNNING"}``; ``GET /workflows/<id>/runs/<run_id>?session_id=`` answers the run
with ``COMPLETED`` once BENCH_SLEEP_S seconds have passed; ``GET /workflows/<id>/runs?
session_id=`` lists a session's runs (404 for an unknown session); ``POST …/cancel``;
``/health``; and no traces (tracing off). Runs live in memory; nothing else is done.
"""

import os
import time
import uuid

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from benchmarks.arrivals import ArrivalLog

SLEEP_S = float(os.environ.get("BENCH_SLEEP_S", "30"))
RUNS: dict[str, dict] = {}
SESSIONS: dict[str, list[str]] = {}


def _shape(run: dict) -> dict:
    done = run["status"] == "RUNNING" and time.time() >= run["created_at"] + SLEEP_S
    if done:
        run.update(status="COMPLETED", content="slept")
    return {k: v for k, v in run.items() if k != "created_mono"}


async def submit(request: Request) -> JSONResponse:
    form = await request.form()
    session_id = form.get("session_id") or str(uuid.uuid4())
    run_id = str(uuid.uuid4())
    run = {
        "run_id": run_id,
        "session_id": session_id,
        "workflow_id": request.path_params["wid"],
        "status": "RUNNING",
        "created_at": time.time(),
        "content": None,
    }
    RUNS[run_id] = run
    SESSIONS.setdefault(session_id, []).append(run_id)
    return JSONResponse({"run_id": run_id, "session_id": session_id, "status": "RUNNING"}, 202)


async def get_run(request: Request) -> JSONResponse:
    run = RUNS.get(request.path_params["rid"])
    if run is None:
        return JSONResponse({"detail": "Run not found"}, 404)
    return JSONResponse(_shape(run))


async def list_runs(request: Request) -> JSONResponse:
    ids = SESSIONS.get(request.query_params.get("session_id", ""))
    if ids is None:
        return JSONResponse({"detail": "Session not found"}, 404)
    return JSONResponse([_shape(RUNS[i]) for i in ids])


async def cancel(request: Request) -> JSONResponse:
    run = RUNS.get(request.path_params["rid"])
    if run is None:
        return JSONResponse({"detail": "Run not found"}, 404)
    run["status"] = "CANCELLED"
    return JSONResponse({})


async def not_found(request: Request) -> JSONResponse:
    return JSONResponse({"detail": "Not Found"}, 404)


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = ArrivalLog(
    Starlette(
        routes=[
            Route("/health", health),
            Route("/workflows/{wid}/runs", submit, methods=["POST"]),
            Route("/workflows/{wid}/runs", list_runs, methods=["GET"]),
            Route("/workflows/{wid}/runs/{rid}", get_run),
            Route("/workflows/{wid}/runs/{rid}/cancel", cancel, methods=["POST"]),
            Route("/sessions/{sid}", not_found),
            Route("/traces", not_found),
        ]
    )
)
