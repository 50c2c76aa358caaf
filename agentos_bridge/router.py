"""Pick the transport for a run: the in-process runtime or an AgentOS over HTTP."""

from agentos_bridge.firing_trace import FiringTrace
from agentos_bridge.outcome import Outcome, RunRequest


def execute(request: RunRequest) -> Outcome:
    """Execute one run and describe how it ended. Never raises."""
    trace = FiringTrace(request)
    if request.target.is_local:
        from agentos_bridge.local import execute_local

        with trace.span("local call", endpoint=request.endpoint) as span:
            outcome = execute_local(request)
            span.finish(output=outcome.status, error=outcome.error)
    else:
        from agentos_bridge.remote import execute_remote

        outcome = execute_remote(request, trace)
    trace.complete(outcome)
    return outcome
