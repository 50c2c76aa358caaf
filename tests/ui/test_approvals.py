"""The approvals inbox and answering from the console (engine behaviour against a real
AgentOS is in tests/bridge/test_approvals_agentos.py; here the agent server is one
that takes every continue)."""

import pytest
from django.urls import reverse

from scheduler_admin.engine import approvals
from scheduler_admin.models import AuditEntry, RunStage, RunStatus
from tests.factories import CONFIRM_STEP, INPUT_STEP, make_paused_run, make_schedule, make_user

CONFIRM, INPUT = CONFIRM_STEP, INPUT_STEP


def paused(requirements=CONFIRM, **fields):
    return make_paused_run(requirements, **fields)


@pytest.fixture
def sent(continues_sent):
    return continues_sent


def test_the_inbox_shows_what_each_paused_run_asks_oldest_first(client, db):
    first, second = paused(), paused(INPUT)
    client.force_login(make_user("viewer"))
    page = client.get(reverse("approval_list")).content.decode()
    assert page.index(f"Run #{first.pk}") < page.index(f"Run #{second.pk}")
    assert "Publish the digest?" in page and "Which account?" in page
    assert 'name="field-amount"' not in page  # a viewer sees, no form
    assert "Operators and admins answer this." in page


def test_the_navigation_counts_the_runs_waiting_in_one_query(client, db, django_assert_num_queries):
    from scheduler_admin.templatetags.console import approvals_waiting

    paused(), paused()
    with django_assert_num_queries(1):
        assert approvals_waiting() == "2"
    client.force_login(make_user("viewer"))
    page = client.get(reverse("dashboard")).content.decode()
    assert 'id="approvals-count" aria-label="2 waiting">2<' in page


def test_the_inbox_costs_a_fixed_number_of_queries(client, db, django_assert_max_num_queries):
    for _ in range(5):
        paused(INPUT)
    client.force_login(make_user("operator"))
    with django_assert_max_num_queries(8):
        response = client.get(reverse("approval_list"))
    assert response.content.decode().count('name="field-amount"') == 5


def test_an_operator_approves_from_the_inbox(client, db, sent):
    run = paused()
    operator = make_user("operator")
    client.force_login(operator)
    response = client.post(
        reverse("approval_answer", args=[run.pk]), {"decision": "approve", "note": ""}
    )
    assert response.status_code == 302 and response["Location"] == reverse("approval_list")
    run.refresh_from_db()
    assert (run.status, run.stage, run.answered_by) == (
        RunStatus.RUNNING,
        RunStage.FOLLOWING,
        operator,
    )
    assert sent[0][1][0]["confirmed"] is True
    assert AuditEntry.objects.get(action="answered").actor == operator


def test_filled_in_input_is_validated_against_the_schema(client, db, sent):
    run = paused(INPUT)
    client.force_login(make_user("admin"))
    url = reverse("approval_answer", args=[run.pk])
    for bad in ({}, {"field-account": "acme", "field-amount": "12.5"}, {"field-amount": "x"}):
        response = client.post(url, {"decision": "approve", **bad}, follow=True)
        assert "amount" in response.content.decode() or "account" in response.content.decode()
        run.refresh_from_db()
        assert run.status == RunStatus.PAUSED
    assert sent == []
    client.post(
        url, {"decision": "approve", "field-account": "acme", "field-amount": "7", "back": "run"}
    )
    run.refresh_from_db()
    assert run.answer["values"] == {"account": "acme", "amount": 7}
    assert sent[0][1][0]["user_input"] == {"account": "acme", "amount": 7}


def test_a_rejection_carries_its_note_from_the_run_page(client, db, sent):
    run = paused()
    client.force_login(make_user("operator"))
    page = client.get(reverse("run_detail", args=[run.pk])).content.decode()
    assert 'value="approve"' in page and "Publish the digest?" in page
    response = client.post(
        reverse("approval_answer", args=[run.pk]),
        {"decision": "reject", "note": "not this week", "back": "run"},
    )
    assert response["Location"] == reverse("run_detail", args=[run.pk])
    assert sent[0][1][0]["confirmed"] is False
    assert sent[0][1][0]["rejection_feedback"] == "not this week"


def test_viewer_cannot_answer(client, db, sent):
    run = paused()
    client.force_login(make_user("viewer"))
    response = client.post(reverse("approval_answer", args=[run.pk]), {"decision": "approve"})
    assert response.status_code == 403
    run.refresh_from_db()
    assert run.status == RunStatus.PAUSED and sent == []


def test_the_second_answer_is_told_someone_answered_first(client, db, sent):
    run = paused()
    approvals.answer(run, user=make_user("operator", "alice"), decision="approve")
    client.force_login(make_user("operator", "bob"))
    response = client.post(
        reverse("approval_answer", args=[run.pk]), {"decision": "reject"}, follow=True
    )
    assert "alice answered this run first." in response.content.decode()
    assert len(sent) == 1


def test_the_schedule_form_offers_the_pause_timeout(client, db):
    client.force_login(make_user("admin"))
    page = client.get(reverse("schedule_create")).content.decode()
    assert 'name="pause_timeout_s"' in page and 'name="pause_timeout_action"' in page


def test_a_local_agents_tool_approval_is_shown_but_not_answerable(client, db, sent):
    from scheduler_admin.models import Target

    local = make_schedule(endpoint="/agents/mailer/runs", target=Target.objects.local())
    tool = {"tool_name": "send_emails", "tool_args": {"count": 40}, "requires_confirmation": True}
    run = paused([{"tool_execution": tool}], schedule=local)
    client.force_login(make_user("operator"))
    page = client.get(reverse("approval_list")).content.decode()
    assert "send_emails" in page and f'action="/approvals/{run.pk}/answer/"' not in page
    assert "only workflow steps are, for now" in page
    response = client.post(
        reverse("approval_answer", args=[run.pk]), {"decision": "approve"}, follow=True
    )
    assert "cannot be answered from the console" in response.content.decode()
    assert sent == []
