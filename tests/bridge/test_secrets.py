"""The bearer token and URL credentials never reach an outcome, a trace or a check
result; the HTTP session takes nothing from the environment and keeps no cookies."""

import pytest
import requests

import agentos_bridge
from agentos_bridge import client
from agentos_bridge.client import CallError
from agentos_bridge.health import check_target
from agentos_bridge.outcome import RunRequest, TargetInfo
from scheduler_admin.models import Span, Trace
from tests.bridge.conftest import free_port

TOKEN = "s3cret-secrets-token"


def request_to(base_url: str, endpoint: str, method="GET", token_env="AGENTOS_X", **kw):
    return RunRequest(
        target=TargetInfo(name="faulty", base_url=base_url, token_env=token_env),
        method=method,
        endpoint=endpoint,
        payload=kw.pop("payload", {}),
        timeout_s=kw.pop("timeout_s", 5.0),
        idempotency_key="sched-1-1700000000-1",
        **kw,
    )


def stored_text() -> str:
    return repr(list(Trace.objects.values())) + repr(list(Span.objects.values()))


@pytest.fixture(autouse=True)
def _db(db):
    pass


def test_a_token_a_header_cannot_carry_fails_naming_only_its_variable(fault_server, monkeypatch):
    url, seen = fault_server
    secret = "sécret-tøken€"
    monkeypatch.setenv("AGENTOS_X", secret)
    outcome = agentos_bridge.execute(request_to(url, "/ok"))
    assert (outcome.status, outcome.retryable) == ("failed", False)
    assert outcome.error == "AGENTOS_X holds characters a bearer token cannot carry"
    assert secret not in repr(outcome) and secret not in stored_text()
    assert seen.seen == []  # nothing was sent


def test_check_target_reports_an_unusable_token_instead_of_raising(fault_server, monkeypatch):
    url, _ = fault_server
    monkeypatch.setenv("AGENTOS_X", "tøken")
    found = check_target(TargetInfo(name="faulty", base_url=url, token_env="AGENTOS_X"))
    assert not found["ok"]
    assert found["error"] == "AGENTOS_X holds characters a bearer token cannot carry"
    assert "tøken" not in repr(found)


def test_an_unexpected_exception_while_sending_reports_only_its_type(fault_server, monkeypatch):
    url, _ = fault_server
    monkeypatch.setenv("AGENTOS_X", TOKEN)

    def body():
        yield b"a"
        raise RuntimeError(f"Authorization: Bearer {TOKEN}")

    target = TargetInfo(name="faulty", base_url=url, token_env="AGENTOS_X")
    with pytest.raises(CallError) as caught:
        client.send(target, "POST", "/ok", idempotency_key="k", read_timeout_s=2, data=body())
    assert str(caught.value) == "Request to faulty failed: RuntimeError (POST /ok)"


@pytest.mark.parametrize("code", [500, 200])
def test_a_token_echoed_by_the_server_is_redacted(fault_server, monkeypatch, code):
    url, _ = fault_server
    monkeypatch.setenv("AGENTOS_X", TOKEN)
    outcome = agentos_bridge.execute(request_to(url, f"/echo-auth/{code}"))
    assert "Bearer [redacted]" in repr(outcome)
    assert TOKEN not in repr(outcome) and TOKEN not in stored_text()


def test_redact_replaces_the_token_in_nested_values(monkeypatch):
    monkeypatch.setenv("AGENTOS_X", TOKEN)
    target = TargetInfo(name="t", base_url="http://x", token_env="AGENTOS_X")
    value = {"a": [f"x{TOKEN}y", 3, None], TOKEN: {"b": TOKEN}}
    assert client.redact(value, target) == {
        "a": ["x[redacted]y", 3, None],
        "[redacted]": {"b": "[redacted]"},
    }


def test_credentials_in_the_base_url_never_appear_in_an_error():
    base = f"http://ops:hunter2@127.0.0.1:{free_port()}"
    outcome = agentos_bridge.execute(request_to(base, "/ok", token_env=""))
    assert outcome.status == "failed" and outcome.error.startswith("Connection refused")
    assert "hunter2" not in outcome.error and "127.0.0.1" in outcome.error
    assert "hunter2" not in stored_text()
    found = check_target(TargetInfo(name="faulty", base_url=base))
    assert "hunter2" not in repr(found)


def test_proxy_variables_are_ignored(fault_server, monkeypatch):
    url, seen = fault_server
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{free_port()}")
    outcome = agentos_bridge.execute(request_to(url, "/ok", token_env=""))
    assert outcome.status == "success", outcome.error
    assert seen.seen[0]["path"] == "/ok"


def test_cookies_set_by_a_server_are_not_sent_back(fault_server):
    url, seen = fault_server
    agentos_bridge.execute(request_to(url, "/set-cookie", token_env=""))
    agentos_bridge.execute(request_to(url, "/ok", token_env=""))
    assert [s["path"] for s in seen.seen] == ["/set-cookie", "/ok"]
    assert "Cookie" not in seen.seen[1]["headers"]


def test_the_session_ignores_netrc_and_stores_no_cookie(fault_server):
    url, _ = fault_server
    session = client.session_for(TargetInfo(name="faulty", base_url=url))
    assert session.trust_env is False
    session.get(url + "/set-cookie", timeout=5)
    assert len(session.cookies) == 0
    assert isinstance(session, requests.Session)
