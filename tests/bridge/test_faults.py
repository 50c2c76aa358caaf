"""Misbehaving servers: each failure becomes a readable, correctly retryable outcome."""

import pytest

import agentos_bridge
from agentos_bridge.outcome import RunRequest, TargetInfo
from tests.bridge.conftest import free_port

TOKEN = "s3cret-fault-token"


def request_to(base_url: str, endpoint: str, method="GET", payload=None, timeout_s=5.0, **kw):
    return RunRequest(
        target=TargetInfo(name="faulty", base_url=base_url, token_env="AGENTOS_FAULT_TOKEN", **kw),
        method=method,
        endpoint=endpoint,
        payload=payload or {},
        timeout_s=timeout_s,
        idempotency_key="sched-1-1700000000-1",
    )


@pytest.fixture(autouse=True)
def _db_and_token(db, monkeypatch):
    monkeypatch.setenv("AGENTOS_FAULT_TOKEN", TOKEN)


def test_5xx_fails_retryably_with_status_and_body(fault_server):
    url, _ = fault_server
    outcome = agentos_bridge.execute(request_to(url, "/status/500"))
    assert (outcome.status, outcome.status_code, outcome.retryable) == ("failed", 500, True)
    assert "status 500" in outcome.error


def test_404_fails_without_retry(fault_server):
    url, _ = fault_server
    outcome = agentos_bridge.execute(request_to(url, "/status/404"))
    assert (outcome.status, outcome.status_code, outcome.retryable) == ("failed", 404, False)


def test_429_is_retried_no_sooner_than_retry_after(fault_server):
    url, _ = fault_server
    outcome = agentos_bridge.execute(request_to(url, "/throttled"))
    assert (outcome.status_code, outcome.retryable, outcome.retry_after_s) == (429, True, 7.0)


def test_run_submit_answered_with_html_is_an_invalid_json_failure(fault_server):
    url, _ = fault_server
    outcome = agentos_bridge.execute(
        request_to(url, "/agents/html/runs", "POST", {"message": "hi"})
    )
    assert outcome.status == "failed" and not outcome.retryable
    assert outcome.error.startswith("Invalid JSON") and "maintenance page" in outcome.error


def test_run_submit_500_body_is_truncated(fault_server):
    url, _ = fault_server
    outcome = agentos_bridge.execute(
        request_to(url, "/agents/broken/runs", "POST", {"message": "hi"})
    )
    assert outcome.status_code == 500 and outcome.retryable
    assert "Internal Server Error" in outcome.error and len(outcome.error) < 2100


def test_hanging_server_is_a_retryable_timeout_at_the_runs_deadline(fault_server):
    url, _ = fault_server
    outcome = agentos_bridge.execute(request_to(url, "/hang", timeout_s=0.5))
    assert outcome.status == "timeout" and outcome.retryable
    assert outcome.error.startswith("Timed out after 0.5 s")
    assert outcome.request_sent_at is not None


def test_refused_connection_is_a_retryable_connection_error():
    outcome = agentos_bridge.execute(request_to(f"http://127.0.0.1:{free_port()}", "/ok"))
    assert outcome.status == "failed" and outcome.retryable
    assert outcome.error.startswith("Connection refused")


def test_requests_carry_token_idempotency_key_and_form_encoded_run_fields(fault_server):
    url, seen = fault_server
    payload = {"message": "hi", "extra": {"a": 1}, "flag": True}
    agentos_bridge.execute(request_to(url, "/agents/html/runs", "POST", payload))
    (submitted,) = seen.seen
    assert submitted["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert submitted["headers"]["Idempotency-Key"] == "sched-1-1700000000-1"
    assert submitted["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    body = submitted["body"]
    assert "background=true" in body and "stream=false" in body and "flag=true" in body
    assert "extra=%7B%22a%22%3A+1%7D" in body


def test_plain_post_sends_json_and_returns_the_json_answer(fault_server):
    url, seen = fault_server
    outcome = agentos_bridge.execute(request_to(url, "/ok", "POST", {"x": 1}))
    assert (outcome.status, outcome.output) == ("success", {"done": True})
    assert seen.seen[0]["body"] == '{"x": 1}'


def test_no_authorization_header_when_the_token_variable_is_unset(fault_server, monkeypatch):
    url, seen = fault_server
    monkeypatch.delenv("AGENTOS_FAULT_TOKEN")
    agentos_bridge.execute(request_to(url, "/ok"))
    assert "Authorization" not in seen.seen[0]["headers"]
