"""The in-process runtime served over HTTP (/agentos/), driven through the real bridge,
and the promise that the bearer token is never stored or logged."""

import logging

import pytest
import requests

from agentos_bridge import views
from agentos_bridge.health import check_target
from scheduler_admin.engine.operations import trigger_now
from scheduler_admin.models import AgentSession, AuditEntry, ScheduleRun, Span, Target, Trace
from tests.factories import make_schedule

pytestmark = pytest.mark.slow

TOKEN = "local-agentos-secret-4f9a"


@pytest.fixture
def local_os(live_server, monkeypatch, transactional_db, inline_dispatch):
    monkeypatch.setenv("AGENTOS_LOCAL_TOKEN", TOKEN)
    monkeypatch.setenv("AGENTOS_LOCAL_OS_TOKEN_FOR_TARGET", TOKEN)
    yield Target.objects.create(
        name="self",
        base_url=live_server.url + "/agentos",
        token_env="AGENTOS_LOCAL_OS_TOKEN_FOR_TARGET",
    )
    # The server's run threads write to the database: none may outlive the test.
    assert views.run_slots.wait_idle(30), "a run thread of the local AgentOS is still going"


def test_workflow_over_http_succeeds_with_session_and_trace(local_os):
    run = trigger_now(
        make_schedule(
            target=local_os, endpoint="/workflows/digest/runs", payload={"message": "ops"}
        )
    )
    run.refresh_from_db()
    assert run.status == "success", run.error
    assert run.output["content"] == "draft from (outline of (notes on ops))"
    assert AgentSession.objects.filter(session_id=run.session_id).exists()
    trace = Trace.objects.get(run_id=run.run_id, source="local")
    assert trace.schedule_run == run
    names = set(trace.spans.values_list("name", flat=True))
    assert names >= {"research.aexecute", "outline.aexecute", "draft.aexecute"}


def test_failing_workflow_over_http_fails_retryably_with_its_error(local_os):
    schedule = make_schedule(
        target=local_os,
        endpoint="/workflows/flaky/runs",
        payload={"message": "x"},
        max_retries=1,
        retry_delay_s=1,
    )
    run = trigger_now(schedule)
    run.refresh_from_db()
    assert run.status == "failed" and "upstream flaked" in run.error
    assert ScheduleRun.objects.filter(retry_of=run).exists()


def test_slow_workflow_over_http_times_out_and_its_run_still_finishes(local_os, monkeypatch):
    monkeypatch.setattr("agentos_bridge.runtime.demo.SLOW_STEP_S", 0.3)
    schedule = make_schedule(
        target=local_os, endpoint="/workflows/slow/runs", payload={"message": "x"}, timeout_s=1
    )
    run = trigger_now(schedule)
    run.refresh_from_db()
    assert run.status == "timeout" and run.run_id
    # The server-side run goes on; wait for its thread (no database reads meanwhile:
    # the in-memory test database's shared cache would make its save fail on a lock).
    assert views.run_slots.wait_idle(10), "the slow run did not finish"
    assert Trace.objects.filter(run_id=run.run_id, source="local").exists()
    assert Span.objects.filter(trace__run_id=run.run_id, name="stage_5.aexecute").exists()


def test_endpoints_need_the_bearer_token(local_os, live_server):
    url = live_server.url + "/agentos/health"
    assert requests.get(url, timeout=5).status_code == 401
    wrong = requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=5)
    assert wrong.status_code == 401
    right = requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert right.json() == {"status": "ok"}


def test_endpoints_are_disabled_without_the_token_variable(
    live_server, transactional_db, monkeypatch
):
    monkeypatch.delenv("AGENTOS_LOCAL_TOKEN", raising=False)
    answer = requests.get(live_server.url + "/agentos/workflows", timeout=5)
    assert answer.status_code == 503
    assert "set AGENTOS_LOCAL_TOKEN" in answer.json()["detail"]


def test_check_target_over_http_lists_the_demo_components(local_os):
    found = check_target(local_os)
    assert found["ok"], found["error"]
    assert {"digest", "fan-out", "slow", "flaky", "narrated-digest"} <= set(found["workflows"])
    assert TOKEN not in repr(found)


class Collect(logging.Handler):
    """Every record of every logger (works with or without pytest's logging plugin)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def log_lines():
    handler, root = Collect(), logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_token_never_reaches_the_database_or_the_logs(local_os, log_lines):
    ok = make_schedule(target=local_os, endpoint="/workflows/digest/runs", payload={"message": "a"})
    bad = make_schedule(target=local_os, endpoint="/workflows/nope/runs", payload={"message": "b"})
    for schedule in (ok, bad):
        trigger_now(schedule)
    assert ScheduleRun.objects.filter(status="success").exists()
    assert ScheduleRun.objects.filter(status="failed", status_code=404).exists()
    assert Span.objects.filter(trace__source="scheduler").exists()
    for model in (ScheduleRun, Trace, Span, AgentSession, AuditEntry, Target):
        for row in model.objects.values():
            assert TOKEN not in repr(row), f"token stored in {model.__name__}"
    assert "/workflows/digest/runs on self: success" in log_lines.text  # logging was captured
    assert TOKEN not in log_lines.text
