"""HTTP to one AgentOS: a cached Session per target, auth and idempotency headers,
explicit (connect, read) timeouts, and failures turned into readable CallErrors.

The bearer token is read from the environment at call time and only ever placed in
the Authorization header: never logged, stored or put in an error message.
"""

import json
import math
import os
import threading
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from agentos_bridge.outcome import Outcome, TargetInfo, is_retryable_status

MAX_BODY = 2000
_sessions: dict[tuple[str, str], requests.Session] = {}
_sessions_lock = threading.Lock()


class CallError(Exception):
    """A request that did not get a usable answer; becomes a failed Outcome."""

    def __init__(self, message: str, *, retryable: bool, status_code=None, retry_after_s=None):
        super().__init__(message)
        self.retryable, self.status_code, self.retry_after_s = (
            retryable,
            status_code,
            retry_after_s,
        )

    def outcome(self, **kw) -> Outcome:
        return Outcome.failure(
            str(self),
            retryable=self.retryable,
            status_code=self.status_code,
            retry_after_s=self.retry_after_s,
            **kw,
        )


def session_for(target: TargetInfo) -> requests.Session:
    """One Session (connection pool) per target, shared by threads."""
    key = (target.name, target.base_url)
    with _sessions_lock:
        if key not in _sessions:
            _sessions[key] = requests.Session()
        return _sessions[key]


def headers_for(target: TargetInfo, idempotency_key: str) -> dict:
    headers = {"Accept": "application/json", "Idempotency-Key": idempotency_key}
    token = os.environ.get(target.token_env, "") if target.token_env else ""
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def url_for(target: TargetInfo, path: str) -> str:
    return target.base_url.rstrip("/") + "/" + path.lstrip("/")


def send(
    target: TargetInfo,
    method: str,
    path: str,
    *,
    idempotency_key: str,
    read_timeout_s: float,
    **kwargs,
) -> requests.Response:
    """One request; connection problems raise CallError naming what went wrong."""
    url = url_for(target, path)
    try:
        return session_for(target).request(
            method,
            url,
            headers=headers_for(target, idempotency_key),
            timeout=(target.connect_timeout_s, max(0.1, read_timeout_s)),
            allow_redirects=False,
            **kwargs,
        )
    except requests.ConnectTimeout:
        raise CallError(
            f"Connect timeout: {target.name} did not accept a connection within "
            f"{target.connect_timeout_s:g} s ({method} {path})",
            retryable=True,
        ) from None
    except requests.ReadTimeout:
        raise CallError(
            f"Read timeout: {target.name} sent no answer within {read_timeout_s:g} s "
            f"({method} {path})",
            retryable=True,
        ) from None
    except requests.ConnectionError as exc:
        raise CallError(
            f"{_connection_problem(exc)}: {target.name} at {target.base_url} ({method} {path})",
            retryable=True,
        ) from None
    except requests.RequestException as exc:
        raise CallError(
            f"Request to {target.name} failed: {type(exc).__name__}", retryable=False
        ) from None


def _connection_problem(exc: Exception) -> str:
    text = repr(exc)
    if any(
        hint in text
        for hint in (
            "NameResolutionError",
            "Name or service not known",
            "nodename nor servname",
            "Temporary failure in name resolution",
            "No address associated",
        )
    ):
        return "DNS failure: the host name could not be resolved"
    if "Connection refused" in text or "ConnectionRefusedError" in text:
        return "Connection refused: nothing is listening"
    if "RemoteDisconnected" in text or "Connection aborted" in text:
        return "Connection closed by the server before it answered"
    return "Connection error"


def check_status(response: requests.Response, what: str) -> None:
    """Raise CallError for a non-2xx answer, with status code and (truncated) body."""
    if 200 <= response.status_code < 300:
        return
    code = response.status_code
    raise CallError(
        f"HTTP {code} from {what}: {response.text[:MAX_BODY]}",
        retryable=is_retryable_status(code),
        status_code=code,
        retry_after_s=retry_after_s(response) if code in (429, 503) else None,
    )


def parse_json(response: requests.Response, what: str) -> Any:
    try:
        return response.json()
    except (ValueError, json.JSONDecodeError):
        raise CallError(
            f"Invalid JSON from {what} (HTTP {response.status_code}): {response.text[:MAX_BODY]}",
            retryable=False,
            status_code=response.status_code,
        ) from None


def retry_after_s(response: requests.Response) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date."""
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return min(max(0.0, seconds), 86400.0) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def form_fields(payload: dict) -> dict:
    """AgentOS run endpoints take form fields: dicts/lists as JSON, booleans as true/false."""
    fields = {}
    for key, value in payload.items():
        if isinstance(value, bool):
            fields[key] = "true" if value else "false"
        elif isinstance(value, dict | list):
            fields[key] = json.dumps(value)
        elif value is None:
            continue
        else:
            fields[key] = str(value)
    return fields
