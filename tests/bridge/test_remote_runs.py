"""Background runs against a scripted AgentOS: polls that fail after the server accepted
the run, odd run bodies, oversized or slow answers, and the session/trace import."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

import agentos_bridge
from agentos_bridge import client, remote, remote_traces
from agentos_bridge.outcome import RunRequest, TargetInfo
from scheduler_admin.models import Span, Trace

pytestmark = pytest.mark.django_db

RUN_ID = "r/1 x"  # a slash and a space: must be quoted in poll and cancel URLs
QUOTED = "r%2F1%20x"


class ScriptedAgentOS(BaseHTTPRequestHandler):
    """Agent ``<name>`` accepts a run; its polls answer ``polls[name]`` in turn (the
    last one repeats): an HTTP code, ``"drop"`` (close without answering), ``"html"``
    (not JSON) or a JSON body."""

    polls: dict[str, list] = {}
    seen: list[str] = []
    traces: dict[str, dict] = {}
    release = threading.Event()

    def log_message(self, *args) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        ScriptedAgentOS.seen.append(f"{self.command} {self.path}")
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        segments = path.strip("/").split("/")
        if segments[0] in ("agents", "teams", "workflows") and segments[2:3] == ["runs"]:
            return self._run(segments, path)
        if path == "/traces":
            if "start_time" in query:
                return self._json(200, {"data": [{"trace_id": t} for t in self.traces]})
            rows = [
                {"trace_id": t}
                for t, d in self.traces.items()
                for key in ("run_id", "session_id")
                if key in query and d.get(key) == query[key][0]
            ]
            return self._json(200, {"data": rows})
        if path.startswith("/traces/"):
            detail = self.traces.get(path.removeprefix("/traces/"))
            return self._json(200 if detail else 404, detail or {"detail": "Not Found"})
        return self._json(404, {"detail": "Not Found"})

    def _run(self, segments: list[str], path: str) -> None:
        name = segments[1]
        if self.command == "POST" and len(segments) == 3:
            if name == "odd-steps":
                steps = ["not a dict", 3, {"step_name": "s", "success": True}]
                return self._json(
                    200, {"run_id": "r", "status": "COMPLETED", "step_results": steps}
                )
            if name == "steps-not-list":
                return self._json(200, {"run_id": "r", "status": "COMPLETED", "step_results": "x"})
            return self._json(202, {"run_id": RUN_ID, "session_id": "s-1", "status": "PENDING"})
        if self.command == "POST":  # cancel
            return self._json(200, {})
        script = self.polls[name]
        answer = script.pop(0) if len(script) > 1 else script[0]
        if answer == "drop":
            self.close_connection = True
            return None
        if answer == "html":
            self.send_response(200)
            self.send_header("Content-Length", "6")
            self.end_headers()
            return self.wfile.write(b"<html>")
        if isinstance(answer, int):
            return self._json(answer, {"detail": f"status {answer}"})
        return self._json(200, answer)

    def _json(self, code: int, body) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer


@pytest.fixture
def scripted(monkeypatch):
    ScriptedAgentOS.polls, ScriptedAgentOS.seen, ScriptedAgentOS.traces = {}, [], {}
    monkeypatch.setattr(remote, "MAX_POLL_S", 0.2)
    monkeypatch.setattr(remote_traces, "TRACE_WAIT_S", 0.5)  # no trace here: short search
    server = ThreadingHTTPServer(("127.0.0.1", 0), ScriptedAgentOS)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", ScriptedAgentOS
    server.shutdown()
    server.server_close()


def run(base_url: str, endpoint: str, timeout_s=10.0, method="POST", **kw) -> object:
    return agentos_bridge.execute(
        RunRequest(
            target=TargetInfo(name="scripted", base_url=base_url),
            method=method,
            endpoint=endpoint,
            payload={"message": "hi"},
            timeout_s=timeout_s,
            idempotency_key="sched-1-1700000000-1",
            **kw,
        )
    )


def test_polling_outlasts_transient_failures_after_the_run_was_accepted(scripted):
    url, server = scripted
    done = {"run_id": RUN_ID, "status": "COMPLETED", "content": "all done"}
    server.polls["flappy"] = [503, 503, "drop", 502, 404, 503, done]
    outcome = run(url, "/agents/flappy/runs")
    assert (outcome.status, outcome.output) == ("success", "all done"), outcome.error
    assert (outcome.run_id, outcome.session_id) == (RUN_ID, "s-1")
    polls = [line for line in server.seen if line.startswith("GET /agents/flappy/runs/")]
    # Seven polls, then one read of the finished run by the import (its media).
    assert len(polls) == 8
    assert all(line.startswith(f"GET /agents/flappy/runs/{QUOTED}?") for line in polls)


def test_a_run_that_never_answers_times_out_at_the_deadline_with_its_ids(scripted):
    url, server = scripted
    server.polls["never"] = [503]
    started = time.monotonic()
    outcome = run(url, "/agents/never/runs", timeout_s=1.5)
    elapsed = time.monotonic() - started
    assert outcome.status == "timeout" and outcome.retryable
    assert (outcome.run_id, outcome.session_id) == (RUN_ID, "s-1")
    assert "last poll: HTTP 503" in outcome.error
    assert 1.4 <= elapsed < 5
    assert f"POST /agents/never/runs/{QUOTED}/cancel" in server.seen
    # No session or trace import after a timeout: it would only add to the wait.
    assert not [line for line in server.seen if "/sessions/" in line or "/traces" in line]


@pytest.mark.parametrize(("answer", "expected"), [(401, "HTTP 401"), ("html", "Invalid JSON")])
def test_a_poll_that_cannot_succeed_fails_with_the_run_ids(scripted, answer, expected):
    url, server = scripted
    server.polls["denied"] = [answer]
    outcome = run(url, "/agents/denied/runs")
    assert outcome.status == "failed" and not outcome.retryable
    assert expected in outcome.error
    assert (outcome.run_id, outcome.session_id) == (RUN_ID, "s-1")


@pytest.mark.parametrize("workflow", ["odd-steps", "steps-not-list"])
def test_odd_step_results_still_give_an_outcome(scripted, workflow):
    url, _ = scripted
    outcome = run(url, f"/workflows/{workflow}/runs")
    assert outcome.status == "success"
    steps = outcome.output["step_results"]
    if workflow == "odd-steps":
        assert [s["content"] for s in steps] == ["not a dict", 3, None]
        assert steps[2]["step_name"] == "s"
    else:
        assert steps == []


def test_trace_import_fetches_each_trace_once_and_keeps_to_its_budget(scripted, monkeypatch):
    url, server = scripted
    monkeypatch.setattr(remote_traces, "TRACE_WAIT_S", 1.0)
    server.polls["flappy"] = [{"run_id": RUN_ID, "status": "COMPLETED", "content": "ok"}]
    server.traces = {f"other-{i}": {"trace_id": f"other-{i}", "tree": []} for i in range(3)}
    started = time.monotonic()
    outcome = run(url, "/agents/flappy/runs")
    assert outcome.status == "success"
    assert time.monotonic() - started < 4
    listings = [line for line in server.seen if line.startswith("GET /traces?start_time")]
    assert len(listings) >= 2  # it did look again...
    for i in range(3):  # ...without fetching the same details again
        assert server.seen.count(f"GET /traces/other-{i}") == 1


def test_a_trace_that_exists_here_is_not_overwritten_by_the_import(scripted):
    url, server = scripted
    now = timezone.now()
    ours = Trace.objects.create(trace_id="shared-1", name="ours", source="local", start_time=now)
    server.polls["flappy"] = [{"run_id": RUN_ID, "status": "COMPLETED", "content": "ok"}]
    server.traces = {
        "shared-1": {
            "trace_id": "shared-1",
            "run_id": RUN_ID,
            "name": "theirs",
            "tree": [{"id": "x", "name": "theirs", "start_time": now.isoformat()}],
        }
    }
    assert run(url, "/agents/flappy/runs").status == "success"
    ours.refresh_from_db()
    assert (ours.source, ours.name) == ("local", "ours")
    assert not Span.objects.filter(trace=ours).exists()


def test_a_body_over_the_size_limit_fails(fault_server):
    url, _ = fault_server
    outcome = run(url, "/big", method="GET")
    assert outcome.status == "failed" and not outcome.retryable
    assert outcome.error == "response larger than 1 MB"


def test_a_body_that_trickles_in_is_cut_at_the_schedules_timeout(fault_server):
    url, _ = fault_server
    started = time.monotonic()
    outcome = run(url, "/drip", method="GET", timeout_s=0.8)
    assert outcome.status == "timeout" and outcome.retryable
    assert outcome.error.startswith("Timed out after 0.8 s")
    assert time.monotonic() - started < 3


def test_the_connect_timeout_is_cut_to_the_time_left():
    target = TargetInfo(name="t", base_url="http://x", connect_timeout_s=5.0)
    assert client.connect_timeout(target, None) == 5.0
    assert 1.5 < client.connect_timeout(target, time.monotonic() + 2) <= 2
    assert client.connect_timeout(target, time.monotonic() - 1) == client.MIN_TIMEOUT_S
    assert client.connect_timeout(target, time.monotonic() + 60) == 5.0


def test_a_paused_run_is_paused_with_what_it_waits_for(scripted):
    url, server = scripted
    needs = [{"tool_name": "approve_payment", "requires_confirmation": True}]
    server.polls["cautious"] = [
        "drop",
        {"run_id": RUN_ID, "status": "PAUSED", "requirements": needs},
    ]
    outcome = run(url, "/teams/cautious/runs")
    assert (outcome.status, outcome.requirements) == ("paused", needs)
    assert (outcome.run_id, outcome.session_id) == (RUN_ID, "s-1")
    assert any(line.startswith("GET /teams/cautious/runs/") for line in server.seen)


def test_a_cancelled_run_is_cancelled_with_the_servers_text(scripted):
    url, server = scripted
    server.polls["stopped"] = [
        {"run_id": RUN_ID, "status": "CANCELLED", "error": "cancelled by an operator"}
    ]
    outcome = run(url, "/agents/stopped/runs")
    assert (outcome.status, outcome.error) == ("cancelled", "cancelled by an operator")
