"""Human in the loop against a real AgentOS (agno 3.1): workflows fired by a schedule
pause for a person; the answer goes back with ``continue`` and the run is followed to
its end. The server counts the continues it accepted."""

from datetime import timedelta

import pytest
import requests

from scheduler_admin.engine import approvals
from scheduler_admin.engine.clock import db_now
from scheduler_admin.engine.follow import follow_until_done
from scheduler_admin.models import AuditEntry, RunStage, RunStatus, ScheduleRun
from tests.answers import answer_at_once, paused_on_agentos
from tests.factories import make_user


def continues(agentos, run: ScheduleRun) -> int:
    counts = requests.get(agentos.url + "/test/counts", timeout=5).json()
    return counts.get(f"continue:{run.run_id}", 0)


def server_run(agentos, run: ScheduleRun) -> dict:
    path = f"{agentos.url}{run.request['endpoint']}/{run.run_id}"
    return requests.get(path, params={"session_id": run.session_id}, timeout=5).json()


def test_a_confirmation_and_an_input_step_pause_and_complete_with_the_answers(
    agentos_target, agentos
):
    operator = make_user("operator")
    publish = paused_on_agentos(agentos_target, "publish")
    charge = paused_on_agentos(agentos_target, "charge")
    assert list(ScheduleRun.objects.awaiting_answer()) == [publish, charge]
    assert publish.paused_at and publish.trigger == "schedule"
    [ask] = approvals.questions(publish)
    assert (ask["kind"], ask["step"], ask["message"]) == (
        "confirmation",
        "publish",
        "Publish the digest?",
    )
    [ask] = approvals.questions(charge)
    assert ask["kind"] == "input"
    assert [f["name"] for f in ask["fields"]] == ["account", "amount"]

    approvals.answer(publish, user=operator, decision="approve", note="ship it")
    approvals.answer(
        charge, user=operator, decision="approve", values={"account": "acme", "amount": "1250"}
    )
    for run in (publish, charge):
        run.refresh_from_db()
        assert (run.status, run.stage) == (RunStatus.RUNNING, RunStage.FOLLOWING)
        assert run.answered_by == operator and run.answered_at
        assert follow_until_done(run.pk, budget_s=30) == RunStatus.SUCCESS
        run.refresh_from_db()
        assert continues(agentos, run) == 1
    # The server's own record of the runs says what happened.
    assert server_run(agentos, publish)["content"] == "published (digest of the week)"
    assert server_run(agentos, charge)["content"] == "charged 1250 to acme"
    assert charge.output["content"] == "charged 1250 to acme"
    assert charge.answer["values"] == {"account": "acme", "amount": 1250}
    assert AuditEntry.objects.filter(action="answered", actor=operator).count() == 2


def test_input_is_checked_against_the_servers_schema_before_anything_is_sent(
    agentos_target, agentos
):
    run = paused_on_agentos(agentos_target, "charge")
    with pytest.raises(approvals.AnswerError) as caught:
        approvals.answer(
            run, user=make_user("operator"), decision="approve", values={"amount": "lots"}
        )
    assert set(caught.value.errors) == {"account", "amount"}
    run.refresh_from_db()
    assert run.status == RunStatus.PAUSED and continues(agentos, run) == 0


def test_rejecting_ends_the_run_as_the_server_says(agentos_target, agentos):
    run = paused_on_agentos(agentos_target, "publish")
    approvals.answer(run, user=make_user("operator"), decision="reject", note="not this week")
    assert follow_until_done(run.pk, budget_s=30) == RunStatus.SUCCESS
    run.refresh_from_db()
    on_server = server_run(agentos, run)
    # The step was skipped (on_reject="skip"): the server completed the run without it.
    assert on_server["status"] == "COMPLETED"
    assert [s["step_name"] for s in on_server["step_results"]] == ["prepare"]
    assert run.output["content"] == on_server["content"] == "digest of the week"
    assert run.answer["decision"] == "reject" and run.answer["note"] == "not this week"


@pytest.mark.django_db(transaction=True)
def test_two_people_answering_at_once_one_wins_and_the_server_gets_one_continue(
    agentos, django_db_blocker
):
    from scheduler_admin.models import Target

    target = Target.objects.create(name="agentos", base_url=agentos.url)
    run = paused_on_agentos(target, "publish")
    alice, bob = make_user("operator", "alice"), make_user("admin", "bob")
    results = answer_at_once(run.pk, [alice, bob])
    # The second is told it lost, whether it read the run before or after the winner's
    # answer was stored.
    won = [name for name, result in results.items() if result == "won"]
    lost = [result for result in results.values() if result != "won"]
    assert len(won) == 1 and len(lost) == 1
    assert lost[0] in (
        "Someone else answered this run first.",
        f"{won[0]} answered this run first.",
    )
    assert follow_until_done(run.pk, budget_s=30) == RunStatus.SUCCESS
    run.refresh_from_db()
    assert run.answered_by.username == next(n for n, r in results.items() if r == "won")
    assert continues(agentos, run) == 1


def test_a_lost_continue_is_sent_again_only_while_the_server_still_has_the_run_paused(
    agentos_target, agentos
):
    run = paused_on_agentos(agentos_target, "publish")
    # The answer is stored, but its request never left (the process died first).
    approvals.answer(run, user=make_user("operator"), decision="approve", send_now=False)
    run.refresh_from_db()
    assert (run.status, run.stage) == (RunStatus.RUNNING, RunStage.ANSWERING)
    assert continues(agentos, run) == 0
    # A follower asks the server (still paused at that step), then sends it once.
    assert follow_until_done(run.pk, budget_s=30) == RunStatus.SUCCESS
    assert continues(agentos, run) == 1
    # Asked again (a follower that lost its own write), the server has moved on:
    # nothing is sent twice.
    ScheduleRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, stage=RunStage.ANSWERING, next_check_at=db_now(), follower=""
    )
    assert follow_until_done(run.pk, budget_s=30) == RunStatus.SUCCESS
    assert continues(agentos, run) == 1


@pytest.mark.parametrize("action", ["reject", "cancel"])
def test_a_pause_that_waits_too_long_is_rejected_or_cancelled_on_the_server(
    agentos_target, agentos, action
):
    run = paused_on_agentos(
        agentos_target, "publish", pause_timeout_s=60, pause_timeout_action=action
    )
    assert run.pause_expires_at == run.paused_at + timedelta(seconds=60)
    assert approvals.expire_paused(db_now()) == []
    # A minute later (the stored expiry moved back rather than the clock forward: the
    # server's clock and the follower's checks stay where they are).
    ScheduleRun.objects.filter(pk=run.pk).update(pause_expires_at=db_now() - timedelta(seconds=1))
    assert approvals.expire_paused(db_now()) == [run.pk]
    assert follow_until_done(run.pk, budget_s=30) == (
        RunStatus.SUCCESS if action == "reject" else RunStatus.CANCELLED
    )
    run.refresh_from_db()
    assert run.answered_by_name == "system"
    assert "pause timeout" in run.answer["note"]
    on_server = server_run(agentos, run)
    counts = requests.get(agentos.url + "/test/counts", timeout=5).json()
    if action == "reject":
        assert on_server["status"] == "COMPLETED" and continues(agentos, run) == 1
    else:
        # The cancel reached the server, which answered it; agno 3.1 cancels only runs
        # that execute, so its record of a paused run stays PAUSED (never continued).
        assert counts.get(f"cancel:{run.idempotency_key}") == 1
        assert continues(agentos, run) == 0 and on_server["status"] == "PAUSED"


@pytest.mark.parametrize(
    ("kind", "component", "decision"),
    [
        ("agents", "mailer", "approve"),
        ("agents", "mailer", "reject"),
        ("teams", "mail-team", "approve"),
    ],
)
def test_a_tool_confirmation_is_answered_and_the_server_runs_the_tool_or_not(
    agentos_target, agentos, kind, component, decision
):
    run = paused_on_agentos(agentos_target, component, kind=kind)
    assert approvals.can_answer_here(run)
    [ask] = approvals.questions(run)
    assert (ask["kind"], ask["step"], ask["tool_args"]) == (
        "confirmation",
        "send_emails",
        {"count": 40},
    )
    approvals.answer(run, user=make_user("operator"), decision=decision, note="not today")
    assert follow_until_done(run.pk, budget_s=30) == RunStatus.SUCCESS
    run.refresh_from_db()
    assert continues(agentos, run) == 1
    on_server = server_run(agentos, run)
    assert on_server["status"] == "COMPLETED"
    [sent] = on_server["tools"]
    assert sent["tool_name"] == "send_emails"
    if decision == "approve":
        assert sent["confirmed"] is True and sent["result"] == "sent 40 emails"
    else:
        assert sent["confirmed"] is False and sent["result"] != "sent 40 emails"
        assert sent["confirmation_note"] == "not today"
    assert run.output == on_server["content"] == "newsletter handled"
