"""Alerts in a real browser: create a channel, send a test, watch an incident open,
acknowledge it, and see it resolve when the schedule recovers."""

import pytest
from playwright.sync_api import expect

from scheduler_admin.engine.operations import create_schedule, trigger_now
from scheduler_admin.models import Incident, Schedule
from tests.alerts.receivers import start_http_receiver
from tests.browser.conftest import log_in, shoot
from tests.system.stack import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("thread_runs")]


@pytest.fixture
def thread_runs(settings):
    settings.SCHEDULER = {**settings.SCHEDULER, "DISPATCH": "thread"}
    settings.ALERTS = {**settings.ALERTS, "DELIVERY": "inline"}
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    }


def test_admin_creates_a_channel_tests_it_and_handles_an_incident(page, live_server):
    server, receiver = start_http_receiver()
    try:
        log_in(page, live_server, "admin")
        page.goto(f"{live_server.url}/alerts/channels/new/")
        page.get_by_label("Name").fill("on-call hook")
        page.get_by_label("Kind").select_option("webhook")
        page.get_by_label("URL").fill(f"{receiver.url}/hook")
        page.get_by_role("button", name="Save").click()
        expect(page.locator("#signing-key")).to_contain_text("whsec_")
        shoot(page, "alert_channel_signing_key")
        page.get_by_role("link", name="Done").click()
        page.get_by_role("button", name="Send test").click()
        expect(page.locator(".delivery-status").first).to_have_text("sent")
        assert receiver.requests[0].json()["type"] == "test"
        shoot(page, "alert_channel_detail")

        schedule = create_schedule(
            {
                "name": "doomed",
                "endpoint": "/agents/missing/runs",
                "cron_expr": "0 3 * * *",
                "payload": {"message": "m"},
            }
        )
        trigger_now(schedule)
        wait_for(lambda: Incident.objects.exists(), 15, "the incident")
        page.goto(f"{live_server.url}/alerts/incidents/")
        page.get_by_role("link", name="Schedule doomed failing").click()
        expect(page.locator("#incident-status")).to_have_text("open")
        page.get_by_role("button", name="Acknowledge").click()
        expect(page.locator("#incident-status")).to_have_text("acknowledged")
        expect(page.locator(".facts")).to_contain_text("by admin-user")

        Schedule.objects.filter(pk=schedule.pk).update(endpoint="/noop")
        trigger_now(Schedule.objects.get(pk=schedule.pk))
        wait_for(lambda: Incident.objects.get().resolved_at, 15, "the resolution")
        page.reload()
        expect(page.locator("#incident-status")).to_have_text("resolved")
        expect(page.locator(".facts")).to_contain_text("succeeded after 1 failed firing")
        shoot(page, "incident_resolved")
        kinds = [r.json()["type"] for r in receiver.requests]
        assert kinds == ["test", "incident.opened", "incident.resolved"]
    finally:
        server.shutdown()
        server.server_close()
