"""Pick the transport for a run: the in-process runtime or an AgentOS over HTTP."""

import logging

from agentos_bridge.firing_trace import FiringTrace
from agentos_bridge.outcome import Outcome, RunRequest

log = logging.getLogger(__name__)


def execute(request: RunRequest) -> Outcome:
    """Execute one run and describe how it ended. Never raises: an unexpected exception
    is a failed outcome naming only its type, and the scheduler trace is always stored."""
    trace = FiringTrace(request)
    outcome = Outcome.failure("Internal error: the run did not finish", retryable=False)
    try:
        outcome = _execute(request, trace)
    except Exception as exc:  # noqa: BLE001 - the engine gets an Outcome, always
        log.error("run %s: unexpected %s in the bridge", request.run_pk, type(exc).__name__)
        outcome = Outcome.failure(
            f"Internal error in the bridge: {type(exc).__name__}", retryable=False
        )
    finally:
        try:
            trace.complete(outcome)
        except Exception:  # noqa: BLE001 - observability must not fail the run
            log.error("run %s: could not complete the scheduler trace", request.run_pk)
    return outcome


def _execute(request: RunRequest, trace: FiringTrace) -> Outcome:
    if request.target.is_local:
        from agentos_bridge.local import execute_local

        with trace.span("local call", endpoint=request.endpoint) as span:
            outcome = execute_local(request)
            span.finish(output=outcome.status, error=outcome.error)
        return outcome
    from agentos_bridge.remote import execute_remote

    return execute_remote(request, trace)
