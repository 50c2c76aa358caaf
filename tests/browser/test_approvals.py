"""Issue 16: the approvals journey in a real browser against a real AgentOS. Runs fired
by schedules pause for a person; the navigation counts them; an operator fills in the
input (refused first when it does not fit), approves the other, and both complete on
the server; a third waits past its pause timeout and leaves the inbox."""

import pytest
import requests
from playwright.sync_api import expect

from scheduler_admin.engine import approvals
from scheduler_admin.engine.clock import db_now
from scheduler_admin.engine.follow import follow_until_done
from scheduler_admin.models import RunStatus, ScheduleRun, Target
from tests.answers import paused_on_agentos
from tests.bridge.conftest import agentos  # noqa: F401 - the real AgentOS fixture
from tests.browser.conftest import log_in, shoot

pytestmark = pytest.mark.django_db(transaction=True)


def _paused(target, workflow: str, **fields) -> ScheduleRun:
    fields.setdefault("name", f"nightly {workflow}")
    return paused_on_agentos(target, workflow, cron_expr="0 3 * * *", **fields)


def _content(agentos_server, run: ScheduleRun, workflow: str) -> str:  # noqa: F811
    url = f"{agentos_server.url}/workflows/{workflow}/runs/{run.run_id}"
    return requests.get(url, params={"session_id": run.session_id}, timeout=5).json()["content"]


@pytest.fixture
def manual_dispatch(settings, thread_dispatch):
    """The test drives the worker and the follower itself, step by step."""
    settings.SCHEDULER = {**settings.SCHEDULER, "DISPATCH": "manual"}


def test_the_approvals_journey(page, live_server, agentos, manual_dispatch):  # noqa: F811
    target = Target.objects.create(name="agentos", base_url=agentos.url)
    publish = _paused(target, "publish")
    charge = _paused(target, "charge")
    late = _paused(target, "publish", name="weekly publish", pause_timeout_s=3600)

    log_in(page, live_server, "operator")
    count = page.locator("#approvals-count")
    expect(count).to_have_text("3")
    page.get_by_role("link", name="Approvals").click()
    expect(page.locator("h1")).to_contain_text("3 waiting")
    cards = page.locator("section.approval")
    expect(cards.first).to_contain_text(f"Run #{publish.pk}")  # oldest first
    expect(page.locator(f"#approval-{publish.pk}")).to_contain_text("Publish the digest?")
    expect(page.locator(f"#approval-{late.pk}")).to_contain_text("reject")  # its expiry
    shoot(page, "approvals_inbox")

    # Input that does not fit the server's schema is refused, and nothing is sent.
    card = page.locator(f"#approval-{charge.pk}")
    expect(card).to_contain_text("Which account should be charged?")
    card.get_by_label("account").fill("acme")
    card.get_by_role("button", name="Approve").click()
    expect(page.locator(".messages")).to_contain_text("amount: This field is required.")
    expect(count).to_have_text("3")

    card = page.locator(f"#approval-{charge.pk}")
    card.get_by_label("account").fill("acme")
    card.get_by_label("amount").fill("1250")
    card.get_by_role("button", name="Approve").click()
    expect(page.locator(".messages")).to_contain_text(f"Run {charge.pk} approved")
    expect(count).to_have_text("2")

    # The other from its run page.
    page.goto(f"{live_server.url}/runs/{publish.pk}/")
    page.get_by_label("Note").fill("ship it")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".messages")).to_contain_text(f"Run {publish.pk} approved")
    expect(count).to_have_text("1")

    for run in (publish, charge):
        assert follow_until_done(run.pk, budget_s=30) == RunStatus.SUCCESS
    assert _content(agentos, publish, "publish") == "published (digest of the week)"
    assert _content(agentos, charge, "charge") == "charged 1250 to acme"
    page.goto(f"{live_server.url}/runs/{charge.pk}/")
    expect(page.locator("h1 .status")).to_have_text("success")

    # The last one waits past its pause timeout: the scheduler's expiry step rejects it.
    ScheduleRun.objects.filter(pk=late.pk).update(pause_expires_at=db_now())
    assert approvals.expire_paused(db_now()) == [late.pk]
    page.goto(f"{live_server.url}/approvals/")
    expect(page.locator("section.approval")).to_have_count(0)
    expect(count).to_have_count(0)
    expect(page.locator("main")).to_contain_text("Nothing waits for an answer.")
    assert follow_until_done(late.pk, budget_s=30) == RunStatus.SUCCESS
    late.refresh_from_db()
    assert late.answered_by_name == "system" and late.answer["decision"] == "reject"
    shoot(page, "approvals_empty")
