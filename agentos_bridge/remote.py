"""AgentOS over HTTP (filled in by the bridge issue)."""

from agentos_bridge.outcome import Outcome, RunRequest


def execute_remote(request: RunRequest) -> Outcome:
    return Outcome.failure(
        f"Remote targets are not supported yet ({request.target.name})", retryable=False
    )
