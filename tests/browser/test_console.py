"""The console as an operator uses it, in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from scheduler_admin.models import RunStatus, Schedule, ScheduleRun
from tests.browser.conftest import log_in, shoot
from tests.factories import make_run

pytestmark = pytest.mark.django_db(transaction=True)


def _trigger(page) -> int:
    """Click "Trigger now"; return the queued run's pk from the message. (Read from the
    page, not the database: the run's thread is writing to the shared in-memory DB.)"""
    page.get_by_role("button", name="Trigger now").click()
    message = page.locator(".messages")
    expect(message).to_contain_text("queued")
    return int(re.search(r"run (\d+) queued", message.inner_text()).group(1))


def _make(name: str, endpoint: str, payload: dict | None = None) -> Schedule:
    from scheduler_admin.engine.operations import create_schedule

    return create_schedule(
        {"name": name, "endpoint": endpoint, "cron_expr": "0 3 * * *", "payload": payload or {}}
    )


def test_admin_creates_triggers_watches_and_follows_the_trace(page, live_server):
    log_in(page, live_server, "admin")
    shoot(page, "dashboard")

    # Create a schedule; the invalid cron is flagged live and inline, then fixed.
    page.goto(f"{live_server.url}/schedules/new/")
    page.get_by_label("Name").fill("browser sleeper")
    page.get_by_label("Endpoint").fill("/sleep")
    page.get_by_label("Payload").fill('{"seconds": 2}')
    page.get_by_label("Cron expression").press_sequentially("0 9 * *")
    expect(page.locator("#cron-preview")).to_contain_text("this one has 4")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#id_cron_expr-err")).to_contain_text("5 fields")
    shoot(page, "schedule_form_error")
    page.get_by_label("Cron expression").fill("")
    page.get_by_label("Cron expression").press_sequentially("0 9 * * *")
    expect(page.locator("#cron-preview")).to_contain_text("At 09:00")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("h1")).to_contain_text("browser sleeper")
    shoot(page, "schedule_detail")

    # Trigger it, then watch its row turn from in flight to success without a reload.
    run_pk = _trigger(page)
    page.goto(f"{live_server.url}/runs/")
    page.evaluate("window.__not_reloaded = true")
    row = page.locator(f"#run-{run_pk}")
    expect(row.locator(".status")).to_have_text(re.compile("queued|running"))
    expect(row.locator(".status")).to_have_text("success", timeout=15_000)
    assert page.evaluate("window.__not_reloaded") is True
    shoot(page, "runs_list")

    # Its scheduler-side trace, from the run's page.
    page.goto(f"{live_server.url}/runs/{run_pk}/")
    shoot(page, "run_detail")
    page.locator("dt:has-text('Traces') + dd a").first.click()
    expect(page.locator(".span-row").first).to_be_visible()
    shoot(page, "trace_scheduler")


def test_workflow_run_id_leads_to_a_trace_with_step_spans(page, live_server):
    schedule = _make("browser digest", "/workflows/digest/runs", {"message": "AI news"})
    log_in(page, live_server, "operator")
    page.goto(f"{live_server.url}/schedules/{schedule.pk}/")
    run_pk = _trigger(page)
    page.goto(f"{live_server.url}/runs/")
    link = page.locator(f"#run-{run_pk} td.mono a").first
    expect(link).to_be_visible(timeout=15_000)
    link.click()
    expect(page).to_have_url(re.compile(r"/traces/"))
    expect(page.locator(".waterfall")).to_contain_text("research")
    page.locator(".span-row summary").first.click()
    expect(page.locator(".span-body").first).to_be_visible()
    shoot(page, "trace_workflow")
    page.locator("dt:has-text('Session') + dd a").click()
    expect(page.locator("h1")).to_contain_text("Session")
    shoot(page, "session")


def test_failed_run_is_retried_from_its_row_and_two_in_bulk(page, live_server, settings):
    # Written before any run thread starts: the in-memory test database is shared
    # with those threads, so this test reads what happened from the pages.
    schedule = _make("browser broken", "/no-such-thing")
    old = _make("browser old failures", "/no-such-thing")
    a = make_run(old, status=RunStatus.FAILED, error="first", scheduled_for="2026-01-01T00:00:00Z")
    b = make_run(old, status=RunStatus.FAILED, error="second", scheduled_for="2026-01-02T00:00:00Z")
    log_in(page, live_server, "operator")
    page.goto(f"{live_server.url}/schedules/{schedule.pk}/")
    run_pk = _trigger(page)
    page.goto(f"{live_server.url}/runs/")
    row = page.locator(f"#run-{run_pk}")
    expect(row.locator(".status")).to_have_text("failed", timeout=15_000)
    expect(row).to_contain_text("No local agent or workflow serves")
    # From here the new attempts stay queued: executing them in threads while the
    # server writes the next retry would contend for the shared in-memory test
    # database (a test-only limit; a file database waits on its busy timeout).
    settings.SCHEDULER = {**settings.SCHEDULER, "DISPATCH": "manual"}

    # One click: the row is replaced in place by the new attempt's row.
    row.get_by_role("button", name=f"Retry run {run_pk}").click()
    expect(page.locator(f"#run-{run_pk}")).to_have_count(0)
    new_row = page.locator("tr", has_text=f"Retry of run {run_pk} queued.")
    expect(new_row).to_have_count(1)
    expect(new_row.locator(f'a[href="/runs/{run_pk}/"]')).to_be_visible()  # linked to it
    shoot(page, "runs_row_retried")

    # Two failed runs retried at once after a confirmation page.
    page.goto(f"{live_server.url}/runs/?schedule={old.pk}")
    page.get_by_label(f"Select run {a.pk}").check()
    page.get_by_label(f"Select run {b.pk}").check()
    page.get_by_role("button", name="Retry selected…").click()
    expect(page.locator("h1")).to_have_text("Retry 2 runs?")
    expect(page.locator("main")).to_contain_text("first")
    shoot(page, "bulk_retry_confirm")
    page.get_by_role("button", name="Yes, retry 2").click()
    expect(page.locator(".messages")).to_contain_text("Retried 2 of 2 selected runs.")
    page.goto(f"{live_server.url}/runs/?schedule={old.pk}")
    for pk in (a.pk, b.pk):
        expect(page.locator(f'a[title="Retry of run {pk}"]')).to_have_count(1)


def test_viewer_sees_no_retry_and_is_refused_when_posting(page, live_server):
    schedule = _make("browser viewer", "/noop")
    run = make_run(schedule, status=RunStatus.FAILED, error="nope")
    log_in(page, live_server, "viewer")
    page.goto(f"{live_server.url}/runs/")
    expect(page.locator(f"#run-{run.pk}")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Retry"))).to_have_count(0)
    shoot(page, "runs_viewer")
    headers = page.locator("body").get_attribute("hx-headers")
    token = re.search(r'"X-CSRFToken": "([^"]+)"', headers).group(1)
    response = page.request.post(
        f"{live_server.url}/runs/{run.pk}/retry/", headers={"X-CSRFToken": token}
    )
    assert response.status == 403
    assert not ScheduleRun.objects.filter(retry_of=run).exists()
    for name, path in [
        ("schedules_list", "/schedules/"),
        ("targets", "/targets/"),
        ("audit", "/audit/"),
    ]:
        page.goto(f"{live_server.url}{path}")
        shoot(page, name)


def test_narrated_digest_plays_on_the_run_page(page, live_server, settings, tmp_path):
    import shutil

    from scheduler_admin.models import Artifact
    from tests.bridge.conftest import wait_for

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (make system-deps)")
    settings.STORAGES = {
        **settings.STORAGES,
        "artifacts": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "artifacts")},
        },
    }
    schedule = _make("browser narrated", "/workflows/narrated-digest/runs", {"message": "AI"})
    log_in(page, live_server, "operator")
    page.goto(f"{live_server.url}/schedules/{schedule.pk}/")
    run_pk = _trigger(page)
    wait_for(lambda: Artifact.objects.filter(run_id=run_pk).exists(), 30, "the speech artifact")
    page.goto(f"{live_server.url}/runs/{run_pk}/")
    audio = page.locator("audio").first
    expect(audio).to_be_visible()
    duration_s = audio.evaluate(
        """a => new Promise((resolve, reject) => {
            if (a.readyState >= 1) return resolve(a.duration);
            a.addEventListener("loadedmetadata", () => resolve(a.duration));
            a.addEventListener("error", () => reject(new Error("audio error " + a.error.code)));
        })"""
    )
    assert duration_s > 1.0
    audio.evaluate("a => a.play()")  # resolves once Chromium is playing it
    assert audio.evaluate("a => !a.paused")
    shoot(page, "run_detail_audio")
