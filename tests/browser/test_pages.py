"""Every page at 1280 and 390 px: a screenshot of each, an axe-core scan with no
serious or critical violation, and on a phone the header and the runs' key columns
on the first screen (issue 12)."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from scheduler_admin.models import AgentSession, RunStatus, Schedule, Span, Trace, Trigger
from tests.browser.conftest import log_in, shoot
from tests.factories import make_run

pytestmark = pytest.mark.django_db(transaction=True)

AXE = Path(__file__).parent / "vendor" / "axe-core-4.10.3.min.js"
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def _data():
    from scheduler_admin.engine.operations import create_schedule

    schedule = create_schedule(
        {
            "name": "nightly report",
            "endpoint": "/workflows/digest/runs",
            "cron_expr": "0 3 * * *",
            "timezone": "Europe/Berlin",
            "payload": {"message": "go"},
        }
    )
    Schedule.objects.filter(pk=schedule.pk).update(consecutive_failures=2)
    now = timezone.now()
    ok = make_run(
        schedule,
        status=RunStatus.SUCCESS,
        scheduled_for=now - timedelta(hours=3),
        queued_at=now - timedelta(hours=3),
        duration_ms=850,
        run_id="agno-run-ok",
        session_id="sess-1",
    )
    first = make_run(
        schedule,
        status=RunStatus.FAILED,
        scheduled_for=now - timedelta(hours=1),
        queued_at=now - timedelta(hours=1),
        error="Connection refused by 10.0.0.7:8000",
    )
    failed = make_run(
        schedule,
        status=RunStatus.TIMEOUT,
        attempt=2,
        retry_of=first,
        trigger=Trigger.RETRY,
        scheduled_for=first.scheduled_for,
        queued_at=now - timedelta(minutes=50),
        error="No answer within 30 s",
        status_code=504,
    )
    trace = Trace.objects.create(
        trace_id="trace-ok",
        name="digest",
        status="OK",
        run_id=ok.run_id,
        session_id="sess-1",
        schedule_run=ok,
        start_time=ok.queued_at,
        end_time=ok.queued_at + timedelta(seconds=1),
        duration_ms=1000,
    )
    Span.objects.create(
        trace=trace,
        span_id="root",
        name="workflow digest",
        span_type="WORKFLOW",
        status="OK",
        start_time=trace.start_time,
        end_time=trace.end_time,
        duration_ms=1000,
    )
    AgentSession.objects.create(session_id="sess-1", session_type="workflow", component_id="digest")
    return schedule, ok, failed, trace


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """axe is injected as a script of the test's own: let it past the Content-Security-
    Policy (tests/browser/test_csp.py checks that policy on every page)."""
    return {**browser_context_args, "bypass_csp": True}


def _axe(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    assert result["testEngine"]["version"] == "4.10.3"  # the scan ran
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"][:3]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_every_page_at_two_widths_passes_axe(page, live_server, settings):
    settings.SCHEDULER = {**settings.SCHEDULER, "DISPATCH": "manual"}
    schedule, ok, failed, trace = _data()
    from tests.factories import INPUT_STEP, make_paused_run

    waiting = make_paused_run(INPUT_STEP)
    log_in(page, live_server, "admin")
    pages = {
        "approvals": "/approvals/",
        "run_paused": f"/runs/{waiting.pk}/",
        "dashboard": "/",
        "schedules": "/schedules/",
        "schedule": f"/schedules/{schedule.pk}/",
        "schedule_form": "/schedules/new/",
        "schedule_edit": f"/schedules/{schedule.pk}/edit/",
        "runs": "/runs/",
        "failures": "/failures/",
        "run_failed": f"/runs/{failed.pk}/",
        "run_ok": f"/runs/{ok.pk}/",
        "trace": f"/traces/{trace.trace_id}/",
        "session": "/sessions/sess-1/",
        "targets": "/targets/",
        "target_form": "/targets/new/",
        "audit": "/audit/",
        "incidents": "/alerts/incidents/",
        "channels": "/alerts/channels/",
        "channel_form": "/alerts/channels/new/",
        "schedule_alerts": f"/alerts/schedules/{schedule.pk}/",
        "api_tokens": "/api/tokens/",
    }
    problems = {}
    for viewport in WIDTHS.values():
        page.set_viewport_size(viewport)
        for name, path in pages.items():
            page.goto(f"{live_server.url}{path}")
            shoot(page, f"{name}_{viewport['width']}")
            if found := _axe(page):
                problems[f"{name} at {viewport['width']}"] = found
    assert not problems, json.dumps(problems, indent=1)


def test_on_a_phone_the_header_is_compact_and_the_runs_key_columns_show(page, live_server):
    """Issue 12: on a phone the header took 155 px and the runs' key columns were
    off-screen."""
    schedule, ok, failed, trace = _data()
    page.set_viewport_size(WIDTHS["phone"])
    log_in(page, live_server, "operator")
    header = page.locator("header.topbar").bounding_box()
    assert header["height"] <= 60
    page.goto(f"{live_server.url}/runs/")
    assert page.locator("details.fold").get_attribute("open") is None  # filters folded
    row = page.locator(f"#run-{failed.pk}")
    for part in ("td a", ".status", "button"):
        box = row.locator(part).first.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, part
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.goto(f"{live_server.url}/schedules/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    status = page.locator("tbody tr .status").first.bounding_box()
    assert status and status["x"] + status["width"] <= 390
