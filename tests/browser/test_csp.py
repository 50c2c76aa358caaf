"""The Content-Security-Policy holds in a real browser: the console's pages, htmx and
the trace waterfall's positioned bars work without one violation."""

import pytest
from django.utils import timezone

from scheduler_admin.models import RunStatus, Span, Trace
from tests.browser.conftest import log_in
from tests.factories import make_run, make_schedule

pytestmark = pytest.mark.django_db(transaction=True)

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def test_no_page_violates_the_content_security_policy(page, live_server):
    schedule = make_schedule(name="csp", payload={"message": "go"})
    run = make_run(schedule, status=RunStatus.FAILED, error="boom", run_id="r-1")
    now = timezone.now()
    trace = Trace.objects.create(trace_id="t-csp", name="csp", schedule_run=run, start_time=now)
    Span.objects.create(
        trace=trace,
        span_id="root",
        name="root",
        start_time=now,
        duration_ms=5,
        end_time=now + timezone.timedelta(milliseconds=5),
    )
    page.add_init_script(RECORD_VIOLATIONS)
    console = []
    page.on("console", lambda message: console.append(message.text))
    log_in(page, live_server, "admin")
    for path in (
        "/",
        "/schedules/",
        "/schedules/new/",
        f"/schedules/{schedule.pk}/",
        "/runs/",
        f"/runs/{run.pk}/",
        "/traces/t-csp/",
        "/targets/",
        "/audit/",
        "/api/tokens/",
    ):
        response = page.goto(f"{live_server.url}{path}")
        assert "default-src 'self'" in response.headers["content-security-policy"]
        assert page.evaluate("window.__csp") == [], path
    # htmx still works under the policy: the live cron preview answers.
    page.goto(f"{live_server.url}/schedules/new/")
    page.get_by_label("Cron expression").press_sequentially("0 9 * * *")
    page.locator("#cron-preview").get_by_text("At 09:00").wait_for()
    assert page.evaluate("window.__csp") == []
    assert not [text for text in console if "Content Security Policy" in text], console
