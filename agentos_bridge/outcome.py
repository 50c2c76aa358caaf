"""The values that cross between the engine and the bridge."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class TargetInfo:
    """What the bridge needs to know of a target; the token is read from the
    environment at call time and never kept here."""

    name: str
    base_url: str = ""
    token_env: str = ""
    connect_timeout_s: float = 5.0

    @property
    def is_local(self) -> bool:
        return not self.base_url

    @classmethod
    def of(cls, target) -> "TargetInfo":
        """From a Target model row (a TargetInfo is returned as is)."""
        if isinstance(target, TargetInfo):
            return target
        return cls(
            name=target.name,
            base_url=target.base_url,
            token_env=target.token_env,
            connect_timeout_s=target.connect_timeout_s,
        )


@dataclass
class RunRequest:
    target: TargetInfo
    method: str
    endpoint: str
    payload: dict
    timeout_s: float
    idempotency_key: str
    run_pk: int | None = None
    schedule_name: str = ""
    # When the worker claimed the run: the first span of the scheduler-side trace.
    claimed_at: datetime | None = None
    # Called once, the moment the request leaves (for the fire-lag figures).
    on_sent: Callable[[datetime], None] | None = None
    # The session id to submit a background run under (unless the payload names one):
    # chosen per scheduled time and attempt, so a run whose submit answer was lost is
    # found again on the server by it.
    session_id: str = ""


@dataclass
class Outcome:
    status: str  # success | failed | timeout | paused | cancelled
    status_code: int | None = None
    error: str = ""
    run_id: str = ""
    session_id: str = ""
    output: Any = None
    requirements: Any = None
    retryable: bool = False
    retry_after_s: float | None = None
    request_sent_at: datetime | None = None
    spans: list[dict] = field(default_factory=list)

    @classmethod
    def failure(cls, error: str, *, retryable: bool, status_code: int | None = None, **kw):
        return cls(status="failed", error=error, retryable=retryable, status_code=status_code, **kw)


def is_retryable_status(code: int) -> bool:
    """Connection errors, timeouts, 5xx, 408 and 429 are retried; other 4xx are not."""
    return code >= 500 or code in (408, 429)
