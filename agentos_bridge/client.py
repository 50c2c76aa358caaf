"""HTTP to one AgentOS: a cached Session per target, auth and idempotency headers,
explicit (connect, read) timeouts, and failures turned into readable CallErrors.

The bearer token is read from the environment at call time and only ever placed in
the Authorization header: never logged, stored or put in an error message. Text kept
from a response goes through :func:`redact` (a server may echo the header back), and
URLs shown in errors lose any ``user:password@`` part.
"""

import http.cookiejar
import json
import math
import os
import queue
import threading
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from agentos_bridge import netguard
from agentos_bridge.outcome import Outcome, TargetInfo, is_retryable_status

MAX_BODY = 2000
MAX_RESPONSE_BYTES = 1_000_000
# A finished run's body may carry its media (audio, images) inline.
MAX_RUN_BODY_BYTES = 64_000_000
MIN_TIMEOUT_S = 0.1
REDACTED = "[redacted]"
_sessions: dict[tuple[str, str], requests.Session] = {}
# Connections kept open per target (each adapter's pool).
POOL_SIZE = 256
_sessions_lock = threading.Lock()


class CallError(Exception):
    """A request that did not get a usable answer; becomes a failed Outcome."""

    def __init__(
        self, message: str, *, retryable: bool, status_code=None, retry_after_s=None, delivered=True
    ):
        super().__init__(message)
        self.retryable, self.status_code, self.retry_after_s = (
            retryable,
            status_code,
            retry_after_s,
        )
        # Did the request reach the server? False: certainly not (refused, DNS, connect
        # timeout); None: unknown (sent, answer lost); True: it answered.
        self.delivered = delivered

    def outcome(self, **kw) -> Outcome:
        return Outcome.failure(
            str(self),
            retryable=self.retryable,
            status_code=self.status_code,
            retry_after_s=self.retry_after_s,
            **kw,
        )


def session_for(target: TargetInfo) -> requests.Session:
    """One Session (connection pool) per target, shared by threads.

    It ignores the environment (no ~/.netrc credentials, no proxy variables) and keeps
    no cookies: every request carries exactly the headers we give it."""
    key = (target.name, target.base_url)
    with _sessions_lock:
        if key not in _sessions:
            session = requests.Session()
            session.trust_env = False
            session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
            # Every connection checks the address it dials (netguard: SSRF, rebinding);
            # no other scheme (file://, ftp://) has an adapter at all. Followers and
            # batched submits talk to one server from many threads: the pool keeps as
            # many connections as a batch opens (engine/dispatch.py MAX_RUNS_PER_TASK).
            session.adapters.clear()
            for scheme in ("http://", "https://"):
                session.mount(scheme, netguard.GuardedAdapter(pool_maxsize=POOL_SIZE))
            _sessions[key] = session
        return _sessions[key]


def token_for(target: TargetInfo) -> str:
    """The bearer token from the environment ("" when unset), never validated here."""
    return os.environ.get(target.token_env, "") if target.token_env else ""


def headers_for(target: TargetInfo, idempotency_key: str) -> dict:
    """Accept, Idempotency-Key and, when the token variable is set, Authorization.

    A token that is not printable ASCII cannot go in a header; the CallError names the
    variable only, never the value."""
    headers = {"Accept": "application/json", "Idempotency-Key": idempotency_key}
    token = token_for(target)
    if token:
        if not all(" " <= char <= "~" for char in token):
            raise CallError(
                f"{target.token_env} holds characters a bearer token cannot carry",
                retryable=False,
            )
        headers["Authorization"] = f"Bearer {token}"
    return headers


def url_for(target: TargetInfo, path: str) -> str:
    return target.base_url.rstrip("/") + "/" + path.lstrip("/")


def shown_url(url: str) -> str:
    """The URL without any ``user:password@`` part, for error messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(invalid URL)"
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=host))


def redact(value: Any, target: TargetInfo) -> Any:
    """``value`` (text, or dicts/lists of it) with the target's current token replaced by
    "[redacted]"; applied to every text kept from a response."""
    token = token_for(target)
    if not token:
        return value
    return _redact(value, token)


def _redact(value: Any, token: str) -> Any:
    if isinstance(value, str):
        return value.replace(token, REDACTED)
    if isinstance(value, dict):
        return {_redact(k, token): _redact(v, token) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v, token) for v in value]
    return value


def clip(value: Any, limit: int, target: TargetInfo | None) -> str:
    """``value`` as text, redacted and then cut to ``limit`` characters. Always in this
    order: cut first, a token at the cut would survive in part."""
    text = str(value)
    if target is not None:
        text = redact(text, target)
    return text[:limit]


def connect_timeout(target: TargetInfo, deadline: float | None) -> float:
    """The target's connect timeout, cut to what is left before ``deadline``."""
    if deadline is None:
        return target.connect_timeout_s
    remaining = deadline - time.monotonic()
    return max(MIN_TIMEOUT_S, min(target.connect_timeout_s, remaining))


def send(
    target: TargetInfo,
    method: str,
    path: str,
    *,
    idempotency_key: str,
    read_timeout_s: float,
    deadline: float | None = None,
    **kwargs,
) -> requests.Response:
    """One request; every failure raises CallError naming what went wrong (and never
    the token: for an unexpected exception only its type name is shown).

    ``deadline`` (time.monotonic()) caps the connect timeout to the time left."""
    url = url_for(target, path)
    headers = headers_for(target, idempotency_key)
    connect_s = connect_timeout(target, deadline)
    # Every body is read through read_body (1 MB cap) unless the caller streams it itself.
    capped = not kwargs.get("stream")
    kwargs["stream"] = True
    try:
        response = session_for(target).request(
            method,
            url,
            headers=headers,
            timeout=(connect_s, max(MIN_TIMEOUT_S, read_timeout_s)),
            allow_redirects=False,
            **kwargs,
        )
    except requests.ConnectTimeout:
        raise CallError(
            f"Connect timeout: {target.name} did not accept a connection within "
            f"{connect_s:g} s ({method} {path})",
            retryable=True,
            delivered=False,
        ) from None
    except requests.ReadTimeout:
        raise CallError(
            f"Read timeout: {target.name} sent no answer within {read_timeout_s:g} s "
            f"({method} {path})",
            retryable=True,
            delivered=None,
        ) from None
    except requests.ConnectionError as exc:
        problem = _connection_problem(exc)
        raise CallError(
            f"{problem}: {target.name} at {shown_url(target.base_url)} ({method} {path})",
            # A refused address stays refused: retrying only repeats the refusal.
            retryable=netguard.BLOCKED_MESSAGE not in repr(exc),
            delivered=False if problem.startswith(("DNS", "Connection refused")) else None,
        ) from None
    except requests.RequestException as exc:
        raise CallError(
            f"Request to {target.name} failed: {type(exc).__name__} ({method} {path})",
            retryable=False,
        ) from None
    except Exception as exc:  # noqa: BLE001 - its text may hold the headers: type only
        raise CallError(
            f"Request to {target.name} failed: {type(exc).__name__} ({method} {path})",
            retryable=False,
        ) from None
    if capped:
        # The body gets the read timeout the caller chose for this request (already cut
        # to what is left of the run), as requests itself would have given it.
        body_deadline = time.monotonic() + max(MIN_TIMEOUT_S, read_timeout_s)
        read_body(response, max_bytes=MAX_RESPONSE_BYTES, deadline=body_deadline)
    return response


# Threads that carry send_by's requests, kept between calls (a new thread per request
# was a tenth of a busy follower's time). Daemon threads: a call abandoned at its
# deadline never holds up a process's exit. Past CALL_THREADS busy ones, calls queue.
CALL_THREADS = 512


class _Call:
    """One request for a call thread; cancelled if its caller gave up before it ran."""

    def __init__(self, fn) -> None:
        self.fn, self.state, self.lock = fn, "", threading.Lock()

    def _take(self, state: str) -> bool:
        with self.lock:
            if self.state:
                return False
            self.state = state
            return True

    def run(self) -> None:
        if self._take("started"):
            self.fn()

    def cancel(self) -> bool:
        """True if it never started (and now never will)."""
        return self._take("cancelled")


class _CallThreads:
    def __init__(self, limit: int) -> None:
        self.limit, self.started, self.idle = limit, 0, 0
        self.lock = threading.Lock()
        self.queue: queue.SimpleQueue[_Call] = queue.SimpleQueue()

    def submit(self, fn) -> _Call:
        call = _Call(fn)
        with self.lock:
            if self.idle <= self.queue.qsize() and self.started < self.limit:
                self.started += 1
                threading.Thread(target=self._serve, name="http", daemon=True).start()
        self.queue.put(call)
        return call

    def _serve(self) -> None:
        while True:
            with self.lock:
                self.idle += 1
            call = self.queue.get()
            with self.lock:
                self.idle -= 1
            try:
                call.run()
            except Exception:  # noqa: BLE001, S110 - send_by's call reports its own errors
                pass


_call_threads = _CallThreads(CALL_THREADS)


def send_by(
    deadline: float,
    target: TargetInfo,
    method: str,
    path: str,
    *,
    idempotency_key: str,
    max_bytes: int = MAX_RESPONSE_BYTES,
    **kwargs,
) -> requests.Response:
    """One request and its whole body, over by ``deadline`` (time.monotonic()) whatever
    the server does: a server that trickles its headers or body a byte at a time is
    given up on at the deadline, not at the next quiet read.

    The request runs in a pool thread that is abandoned at the deadline (its socket
    read times out on its own later); the answer is then unknown (delivered=None)."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise CallError(
            f"Deadline passed before {method} {path} was sent", retryable=True, delivered=False
        )
    result: dict = {}
    done = threading.Event()

    def call() -> None:
        try:
            response = send(
                target,
                method,
                path,
                idempotency_key=idempotency_key,
                read_timeout_s=max(MIN_TIMEOUT_S, deadline - time.monotonic()),
                deadline=deadline,
                stream=True,
                **kwargs,
            )
            read_body(response, max_bytes=max_bytes, deadline=deadline)
            result["response"] = response
        except CallError as exc:
            result["error"] = exc
        except Exception as exc:  # noqa: BLE001 - type only: the text may quote headers
            result["error"] = CallError(
                f"Request to {target.name} failed: {type(exc).__name__} ({method} {path})",
                retryable=False,
                delivered=None,
            )
        finally:
            done.set()

    started = _call_threads.submit(call)
    if not done.wait(remaining):
        # Never started (every call thread busy): certainly not sent.
        never_sent = started.cancel()
        raise CallError(
            f"Deadline: {target.name} did not answer {method} {path} within {remaining:.3g} s",
            retryable=True,
            delivered=False if never_sent else None,
        )
    if "error" in result:
        raise result["error"]
    return result["response"]


def read_body(response: requests.Response, *, max_bytes: int, deadline: float) -> bytes:
    """Read a ``stream=True`` response's body, at most ``max_bytes`` and until
    ``deadline`` (time.monotonic()); afterwards ``response.content``/``.text``/``.json()``
    work as usual. Raises CallError when the body is too large or too slow."""
    chunks, size = [], 0
    try:
        while True:
            if time.monotonic() > deadline:
                raise CallError(
                    "Read timeout: the response body did not arrive in time",
                    retryable=True,
                    delivered=None,
                )
            chunk = response.raw.read1(65536, decode_content=True)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                raise CallError(
                    f"response larger than {max_bytes // 1_000_000} MB", retryable=False
                )
            chunks.append(chunk)
    except CallError:
        response.close()
        raise
    except Exception as exc:  # noqa: BLE001 - a broken body is a failed call
        response.close()
        raise CallError(
            f"Reading the response failed: {type(exc).__name__}", retryable=True, delivered=None
        ) from None
    response._content = b"".join(chunks)  # noqa: SLF001 - so .text and .json() work
    response._content_consumed = True  # noqa: SLF001
    response.close()
    return response._content  # noqa: SLF001


def _connection_problem(exc: Exception) -> str:
    text = repr(exc)
    if netguard.BLOCKED_MESSAGE in text:
        detail = text.split(netguard.BLOCKED_MESSAGE + ": ", 1)[1].split("'")[0].split('"')[0]
        return f"Refused to connect: {detail}"
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


def check_status(response: requests.Response, what: str, target: TargetInfo | None = None) -> None:
    """Raise CallError for a non-2xx answer, with status code and (truncated) body."""
    if 200 <= response.status_code < 300:
        return
    code = response.status_code
    raise CallError(
        f"HTTP {code} from {what}: {_body_text(response, target)}",
        retryable=is_retryable_status(code),
        status_code=code,
        retry_after_s=retry_after_s(response) if code in (429, 503) else None,
    )


def _body_text(response: requests.Response, target: TargetInfo | None) -> str:
    return clip(response.text, MAX_BODY, target)


def parse_json(response: requests.Response, what: str, target: TargetInfo | None = None) -> Any:
    try:
        return response.json()
    except (ValueError, json.JSONDecodeError):
        raise CallError(
            f"Invalid JSON from {what} (HTTP {response.status_code}): "
            f"{_body_text(response, target)}",
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
