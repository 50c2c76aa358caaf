"""Pick the transport for a run: the in-process runtime or an AgentOS over HTTP."""

from agentos_bridge.outcome import Outcome, RunRequest


def execute(request: RunRequest) -> Outcome:
    """Execute one run and describe how it ended. Never raises."""
    if request.target.is_local:
        from agentos_bridge.local import execute_local

        return execute_local(request)
    from agentos_bridge.remote import execute_remote

    return execute_remote(request)
