"""Secrets never leave through a cut, a check result, a URL or a borrowed variable;
targets cannot point at metadata services or other schemes, not even by DNS rebinding;
every body the bridge reads is capped."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

import agentos_bridge
from agentos_bridge import client
from agentos_bridge.health import check_target
from agentos_bridge.outcome import RunRequest, TargetInfo
from scheduler_admin.models import Span, Target, Trace
from tests.factories import make_user

TOKEN = "tok-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123"  # 34 characters, like the leaked one
ENV = "AGENTOS_SECRET_X"


class Scripted(BaseHTTPRequestHandler):
    """Answers every request with ``Scripted.reply`` (status, content type, text)."""

    reply = (200, "application/json", "{}")

    def log_message(self, *args) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        code, ctype, text = Scripted.reply
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except OSError:
            pass

    do_GET = do_POST = _answer


@pytest.fixture
def server(db, monkeypatch):
    monkeypatch.setenv(ENV, TOKEN)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def execute(port: int, endpoint: str, method: str = "POST", host: str = "127.0.0.1"):
    return agentos_bridge.execute(
        RunRequest(
            target=TargetInfo(name="leaky", base_url=f"http://{host}:{port}", token_env=ENV),
            method=method,
            endpoint=endpoint,
            payload={"message": "go"},
            timeout_s=5.0,
            idempotency_key="sched-1-1700000000-1",
        )
    )


def leaked(text: str) -> bool:
    """Any 4 consecutive characters of the token: a cut token is still a leak."""
    return any(TOKEN[i : i + 4] in text for i in range(len(TOKEN) - 3))


def everything_kept(outcome) -> str:
    return (
        repr(outcome)
        + repr(list(Trace.objects.values()))
        + repr(list(Span.objects.values("output", "error", "attributes")))
    )


def offsets_around(cut: int, prefix: int = 0) -> range:
    """Every start offset that puts the token across, before or after the cut."""
    start = cut - prefix - len(TOKEN) - 2
    return range(max(0, start), cut - prefix + 3)


def test_clip_redacts_before_it_cuts_at_every_offset(monkeypatch):
    monkeypatch.setenv(ENV, TOKEN)
    target = TargetInfo(name="t", base_url="http://x", token_env=ENV)
    for offset in offsets_around(100):
        text = "x" * offset + TOKEN + "y" * 50
        assert not leaked(client.clip(text, 100, target)), offset


def test_an_error_run_keeps_no_part_of_the_token_at_any_offset_around_the_cut(server):
    for offset in offsets_around(client.MAX_BODY):
        error = "x" * offset + TOKEN + " tail"
        body = {"run_id": "r1", "session_id": "", "status": "ERROR", "error": error}
        Scripted.reply = (200, "application/json", json.dumps(body))
        outcome = execute(server, "/agents/a/runs")
        assert outcome.status == "failed"
        assert not leaked(everything_kept(outcome)), offset


def test_a_failed_workflow_step_keeps_no_part_of_the_token_at_any_offset(server):
    prefix = len("Step s failed: ")
    for offset in offsets_around(client.MAX_BODY, prefix):
        step = {"step_name": "s", "success": False, "error": "x" * offset + TOKEN}
        body = {"run_id": "r1", "status": "COMPLETED", "step_results": [step]}
        Scripted.reply = (200, "application/json", json.dumps(body))
        outcome = execute(server, "/workflows/w/runs")
        assert outcome.status == "failed"
        assert not leaked(everything_kept(outcome)), offset


def test_a_plain_text_answer_keeps_no_part_of_the_token_at_any_offset(server):
    for offset in offsets_around(client.MAX_BODY * 10):
        Scripted.reply = (200, "text/plain", "x" * offset + TOKEN + "y" * 100)
        outcome = execute(server, "/plain", method="GET")
        assert outcome.status == "success"
        assert not leaked(everything_kept(outcome)), offset


def test_a_submit_without_run_id_keeps_no_part_of_the_token(server):
    prefix = len("{'x': '")
    for offset in offsets_around(500, prefix):
        Scripted.reply = (200, "application/json", json.dumps({"x": "x" * offset + TOKEN}))
        outcome = execute(server, "/agents/a/runs")
        assert "without a run_id" in outcome.error
        assert not leaked(everything_kept(outcome)), offset


def test_a_submit_answered_with_5_mb_fails_and_stores_none_of_it(server):
    Scripted.reply = (200, "application/json", json.dumps({"run_id": "r", "x": "x" * 5_000_000}))
    outcome = execute(server, "/agents/a/runs")
    assert outcome.status == "failed"
    assert outcome.error == "response larger than 1 MB"
    assert len(everything_kept(outcome)) < 100_000


def test_test_connection_redacts_ids_that_echo_the_token(server):
    Scripted.reply = (200, "application/json", json.dumps([{"id": f"agent-{TOKEN}"}]))
    target = TargetInfo(name="echo", base_url=f"http://127.0.0.1:{server}", token_env=ENV)
    found = check_target(target)
    assert found["ok"] and found["agents"] == [f"agent-{client.REDACTED}"]
    assert not leaked(repr(found))


# --- targets: what may be saved -----------------------------------------------------------


@pytest.fixture
def as_admin(client, db):
    client.force_login(make_user("admin"))
    return client


def target_form(**overrides) -> dict:
    data = {
        "name": "remote",
        "description": "",
        "base_url": "http://127.0.0.1:7777",
        "token_env": "AGENTOS_REMOTE",
        "connect_timeout_s": "5",
    }
    data.update(overrides)
    return data


BAD_TARGETS = [
    ("base_url", "http://169.254.169.254/latest/meta-data/", "link-local or cloud metadata"),
    ("base_url", "http://[fe80::1]:8000", "link-local"),
    ("base_url", "http://[::ffff:169.254.169.254]/", "link-local"),
    ("base_url", "http://100.100.100.200/", "metadata"),
    ("base_url", "http://0.0.0.0:8000", "not a host address"),
    ("base_url", "ftp://agents.example.com/", "http:// or https://"),
    ("base_url", "http://admin:hunter2@127.0.0.1:7777", "no user name or password"),
    ("token_env", "AGENTOS_LOCAL_TOKEN", "own secret"),
]


@pytest.mark.parametrize("field,value,words", BAD_TARGETS, ids=lambda v: str(v)[:30])
def test_a_target_that_would_leak_or_reach_inside_is_refused(as_admin, field, value, words):
    response = as_admin.post(reverse("target_create"), target_form(**{field: value}))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors and words in " ".join(errors[field]), errors
    assert not Target.objects.filter(name="remote").exists()


def test_loopback_and_private_targets_are_allowed_by_default(as_admin):
    response = as_admin.post(reverse("target_create"), target_form())
    assert response.status_code == 302
    assert Target.objects.filter(name="remote").exists()


def test_a_setting_refuses_private_networks(as_admin, settings):
    settings.TARGETS_ALLOW_PRIVATE_NETWORKS = False
    response = as_admin.post(reverse("target_create"), target_form())
    assert response.status_code == 400
    assert "private or loopback" in " ".join(response.context["form"].errors["base_url"])


def test_the_local_token_stays_allowed_for_the_local_runtime(as_admin):
    local = Target.objects.local()
    local.token_env = "AGENTOS_LOCAL_TOKEN"
    local.full_clean()  # no error: it is the console's own runtime


def test_a_password_already_stored_in_a_url_is_never_shown(client, db):
    Target.objects.create(name="old", base_url="http://admin:hunter2@10.0.0.5:7777")
    client.force_login(make_user("viewer"))
    page = client.get(reverse("target_list")).content.decode()
    assert "10.0.0.5:7777" in page and "hunter2" not in page


# --- DNS rebinding: the address is checked again when connecting ------------------------


@pytest.fixture
def resolver(monkeypatch):
    """A local resolver trick: names under .rebind.test resolve to what the test says."""
    answers: dict[str, str] = {}
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return answers


def test_a_name_that_resolves_to_metadata_at_save_is_refused(as_admin, resolver):
    resolver["meta.rebind.test"] = "169.254.169.254"
    response = as_admin.post(
        reverse("target_create"), target_form(base_url="http://meta.rebind.test")
    )
    assert response.status_code == 400
    assert "link-local" in " ".join(response.context["form"].errors["base_url"])


def test_a_name_that_rebinds_to_metadata_after_save_is_refused_at_connect(server, resolver):
    Scripted.reply = (200, "application/json", '{"done": true}')
    resolver["agents.rebind.test"] = "127.0.0.1"
    assert execute(server, "/ok", method="GET", host="agents.rebind.test").status == "success"
    resolver["agents.rebind.test"] = "169.254.169.254"
    outcome = execute(server, "/ok", method="GET", host="agents.rebind.test")
    assert outcome.status == "failed" and not outcome.retryable
    assert "Refused to connect" in outcome.error and "169.254.169.254" in outcome.error
