"""The in-process runtime: the built-in `local` target.

Minimal built-ins for tests and benchmarks: ``/noop`` answers at once and
``/echo`` returns its payload.
"""

import time
from datetime import UTC, datetime

from agentos_bridge.outcome import Outcome, RunRequest


def _now() -> datetime:
    return datetime.now(UTC)


def execute_local(request: RunRequest) -> Outcome:
    sent_at = _now()
    if request.on_sent:
        request.on_sent(sent_at)
    path = request.endpoint.rstrip("/") or "/"
    if path == "/noop":
        return Outcome(status="success", status_code=200, request_sent_at=sent_at)
    if path == "/echo":
        return Outcome(
            status="success", status_code=200, output=request.payload, request_sent_at=sent_at
        )
    if path == "/sleep":
        seconds = float(request.payload.get("seconds", 1))
        time.sleep(min(seconds, request.timeout_s))
        if seconds > request.timeout_s:
            return Outcome(
                status="timeout",
                error=f"Timed out after {request.timeout_s:g} s",
                retryable=True,
                request_sent_at=sent_at,
            )
        return Outcome(status="success", status_code=200, request_sent_at=sent_at)
    return Outcome.failure(
        f"No local agent or workflow serves {request.endpoint}",
        retryable=False,
        status_code=404,
        request_sent_at=sent_at,
    )
