"""Issue 12: the on-call journeys in a real browser. Failures first, Retry only where
it works, and pages that follow a run without being reloaded."""

import re

import pytest
from playwright.sync_api import expect

from scheduler_admin.models import RunStatus, Schedule, Trigger
from tests.browser.conftest import log_in, shoot
from tests.factories import make_run

pytestmark = pytest.mark.django_db(transaction=True)


def _make(name: str, endpoint: str, payload: dict | None = None) -> Schedule:
    from scheduler_admin.engine.operations import create_schedule

    return create_schedule(
        {"name": name, "endpoint": endpoint, "cron_expr": "0 3 * * *", "payload": payload or {}}
    )


def _not_reloaded(page) -> None:
    page.evaluate("window.__not_reloaded = true")


def _still_not_reloaded(page) -> None:
    assert page.evaluate("window.__not_reloaded") is True


def test_trigger_now_shows_success_on_the_same_page_without_reloading(page, live_server):
    """It said "queued" 10 s after Trigger now for a run that took under a second."""
    schedule = _make("browser quick", "/sleep", {"seconds": 0.3})
    log_in(page, live_server, "operator")
    page.goto(f"{live_server.url}/schedules/{schedule.pk}/")
    page.get_by_role("button", name="Trigger now").click()
    link = page.locator(".messages a", has_text=re.compile(r"run \d+ queued"))
    expect(link).to_be_visible()  # the message links the run
    run_pk = int(re.search(r"/runs/(\d+)/", link.get_attribute("href")).group(1))
    _not_reloaded(page)
    # The history polls every 2 s; the generous bound is for a busy shared machine.
    expect(page.locator(f"#run-{run_pk} .status")).to_have_text("success", timeout=10_000)
    _still_not_reloaded(page)
    shoot(page, "schedule_detail_live")

    # The run page of a finished run stays put; the link from the message leads there.
    link.click()
    expect(page.locator("h1")).to_contain_text(f"Run #{run_pk}")
    expect(page.locator("h1 .status")).to_have_text("success")


def test_a_run_page_follows_the_run_until_it_ends(page, live_server, settings):
    """It stayed "running", without its run id or trace link, until reloaded."""
    schedule = _make("browser follow", "/workflows/digest/runs", {"message": "AI news"})
    log_in(page, live_server, "operator")
    page.goto(f"{live_server.url}/schedules/{schedule.pk}/")
    page.get_by_role("button", name="Trigger now").click()
    page.locator(".messages a").click()
    _not_reloaded(page)
    expect(page.locator("h1 .status")).to_have_text("success", timeout=15_000)
    expect(page.locator("dt:has-text('Agent run id') + dd a")).to_be_visible()
    expect(page.locator("dt:has-text('Traces') + dd a").first).to_be_visible()
    _still_not_reloaded(page)
    shoot(page, "run_detail_live")


def test_from_the_dashboard_to_the_error_in_one_click_and_retry_in_two(page, live_server, settings):
    settings.SCHEDULER = {**settings.SCHEDULER, "DISPATCH": "manual"}
    schedule = _make("browser failing", "/no-such-thing")
    first = make_run(schedule, status=RunStatus.FAILED, error="first try broke")
    latest = make_run(
        schedule,
        status=RunStatus.FAILED,
        attempt=2,
        retry_of=first,
        trigger=Trigger.RETRY,
        error="upstream said 503 on the second try",
    )
    Schedule.objects.filter(pk=schedule.pk).update(consecutive_failures=1)
    log_in(page, live_server, "operator")
    shoot(page, "dashboard_failing")
    card = page.locator("section:has(#failing)")
    expect(card).to_contain_text("upstream said 503")
    card.get_by_role("link", name=re.compile(f"#{latest.pk}")).click()  # click 1
    error = page.locator(".failure .error-text")
    expect(error).to_contain_text("upstream said 503 on the second try")
    # Failure first: the error is on the first screen, above the details.
    box = error.bounding_box()
    assert box is not None and box["y"] < page.viewport_size["height"]
    shoot(page, "run_detail_failed")
    page.get_by_role("button", name="Retry", exact=True).click()  # click 2
    expect(page.locator(".messages")).to_contain_text(f"Run {latest.pk} retried")
    expect(page.locator("h1")).to_contain_text("queued")


def test_already_retried_attempts_offer_no_retry(page, live_server, settings):
    """They kept their Retry button and checkbox, and the retry was then refused."""
    settings.SCHEDULER = {**settings.SCHEDULER, "DISPATCH": "manual"}
    schedule = _make("browser retried", "/no-such-thing")
    first = make_run(schedule, status=RunStatus.FAILED, error="one")
    latest = make_run(
        schedule, status=RunStatus.FAILED, attempt=2, retry_of=first, trigger=Trigger.RETRY
    )
    log_in(page, live_server, "operator")
    page.goto(f"{live_server.url}/runs/?attempts=all")
    expect(page.get_by_label(f"Select run {latest.pk}")).to_be_visible()
    expect(page.get_by_label(f"Select run {first.pk}")).to_have_count(0)
    expect(page.get_by_role("button", name=f"Retry run {first.pk}")).to_have_count(0)
    # One row per firing by default: the firing's latest attempt, with its story.
    page.goto(f"{live_server.url}/runs/")
    expect(page.locator(f"#run-{first.pk}")).to_have_count(0)
    expect(page.locator(f"#run-{latest.pk}")).to_contain_text("failed after 2 attempts")
    page.locator(f"#run-{latest.pk} summary").click()
    expect(page.locator(f"#run-{latest.pk} .attempt-list li")).to_have_count(2)
    shoot(page, "runs_firings")
    page.goto(f"{live_server.url}/runs/{first.pk}/")
    expect(page.get_by_role("button", name="Retry", exact=True)).to_have_count(0)
    expect(page.locator("main")).to_contain_text("This attempt was retried")


def test_the_runs_list_shows_new_firings_without_reloading(page, live_server, settings):
    """It stopped polling when nothing on it was in flight, so new runs never appeared."""
    settings.SCHEDULER = {**settings.SCHEDULER, "DISPATCH": "manual"}
    schedule = _make("browser quiet", "/noop")
    make_run(schedule, status=RunStatus.SUCCESS)
    log_in(page, live_server, "viewer")
    page.goto(f"{live_server.url}/runs/")
    _not_reloaded(page)
    new = make_run(schedule, status=RunStatus.QUEUED, scheduled_for="2026-02-01T00:00:00Z")
    expect(page.locator(f"#run-{new.pk}")).to_be_visible(timeout=10_000)
    _still_not_reloaded(page)


def test_retry_a_failure_group_in_three_clicks(page, live_server, settings):
    settings.SCHEDULER = {**settings.SCHEDULER, "DISPATCH": "manual"}
    from datetime import timedelta

    from django.utils import timezone

    schedule = _make("browser refused", "/no-such-thing")
    now = timezone.now()
    for minutes, port in ((30, 8000), (20, 8001)):
        when = now - timedelta(minutes=minutes)
        make_run(
            schedule,
            status=RunStatus.FAILED,
            error=f"Connection refused by 10.0.0.7:{port}",
            scheduled_for=when,
            queued_at=when,
        )
    log_in(page, live_server, "operator")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Failures").click()  # 1
    group = page.locator(".failure-group").first
    expect(group.locator(".signature")).to_have_text("Connection refused by <n>:<n>")
    expect(group).to_contain_text("2 failed firings")
    shoot(page, "failures")
    group.get_by_role("button", name="Retry this group…").click()  # click 2
    expect(page.locator("h1")).to_have_text("Retry 2 runs?")
    page.get_by_role("button", name="Yes, retry 2").click()  # click 3
    expect(page.locator(".messages")).to_contain_text("Retried 2 of 2 selected runs.")
