"""Human in the loop on the built-in local runtime: real agno workflows, fired by a
schedule and executed by a worker, pause for a person; the paused run is kept in the
pause store, and the answer continues it in a worker, once."""

from datetime import timedelta

import pytest
from agno.workflow import Step, Workflow
from agno.workflow.types import HumanReview, StepInput, StepOutput
from django.urls import reverse

from agentos_bridge.runtime import pauses, registry
from scheduler_admin.engine import approvals
from scheduler_admin.engine.clock import db_now
from scheduler_admin.engine.execution import execute_run
from scheduler_admin.engine.follow import follow_until_done
from scheduler_admin.engine.local_answers import continue_local_run
from scheduler_admin.models import AuditEntry, RunStage, RunStatus, ScheduleRun, Target
from tests.answers import answer_at_once, fire_once
from tests.factories import make_schedule, make_user

# Every execution of a step that only runs after a person's answer, by workflow.
EXECUTED: list[str] = []


def prepare(step_input: StepInput) -> StepOutput:
    return StepOutput(content=f"digest of {step_input.input}")


def publish(step_input: StepInput) -> StepOutput:
    EXECUTED.append("publish")
    return StepOutput(content=f"published ({step_input.previous_step_content})")


def charge(step_input: StepInput) -> StepOutput:
    EXECUTED.append("charge")
    given = (step_input.additional_data or {}).get("user_input") or {}
    return StepOutput(content=f"charged {given.get('amount')} to {given.get('account')}")


WORKFLOWS = [
    Workflow(
        id="hitl-publish",
        name="Publish",
        steps=[
            Step(name="prepare", executor=prepare),
            Step(
                name="publish",
                executor=publish,
                human_review=HumanReview(
                    requires_confirmation=True, confirmation_message="Publish the digest?"
                ),
            ),
        ],
    ),
    Workflow(
        id="hitl-charge",
        name="Charge",
        steps=[
            Step(
                name="charge",
                executor=charge,
                human_review=HumanReview(
                    requires_user_input=True,
                    user_input_message="Which account should be charged?",
                    user_input_schema=[
                        {"name": "account", "field_type": "str", "description": "Account"},
                        {"name": "amount", "field_type": "int", "description": "In cents"},
                    ],
                ),
            ),
        ],
    ),
]


@pytest.fixture(autouse=True)
def hitl_workflows():
    for workflow in WORKFLOWS:
        registry.register(workflow)
    EXECUTED.clear()
    yield
    for workflow in WORKFLOWS:
        registry.unregister(workflow.id)


def in_store(run: ScheduleRun) -> bool:
    return (
        pauses.store().get_session(session_id=run.session_id, session_type="workflow") is not None
    )


def answers_inline(settings) -> None:
    """From now on an answer is handed to a worker at once, in the answering thread
    (until then dispatch is manual: the test fires and executes runs itself)."""
    settings.SCHEDULER = {**settings.SCHEDULER, "DISPATCH": "inline"}


def paused_run(workflow: str, **schedule_fields) -> ScheduleRun:
    """A schedule on the local target fires, a worker executes it: the run pauses.
    (Dispatch is manual here: this test is the worker.)"""
    schedule = make_schedule(
        target=Target.objects.local(),
        endpoint=f"/workflows/{workflow}/runs",
        payload={"message": "the week"},
        cron_expr="* * * * *",
        **schedule_fields,
    )
    pk = fire_once(schedule)
    assert execute_run(pk) == "paused"
    run = ScheduleRun.objects.get(pk=pk)
    assert run.status == RunStatus.PAUSED and run.run_id and run.session_id
    assert in_store(run)  # kept beyond the worker that executed it
    return run


@pytest.mark.django_db
def test_a_confirmation_step_pauses_and_approving_it_publishes(settings):
    operator = make_user("operator")
    run = paused_run("hitl-publish")
    answers_inline(settings)
    assert list(ScheduleRun.objects.awaiting_answer()) == [run]
    assert approvals.can_answer_here(run)
    [ask] = approvals.questions(run)
    assert (ask["kind"], ask["step"], ask["message"]) == (
        "confirmation",
        "publish",
        "Publish the digest?",
    )
    assert EXECUTED == []

    run = approvals.answer(run, user=operator, decision="approve", note="ship it")
    assert run.status == RunStatus.SUCCESS, run.error
    assert run.output["content"] == "published (digest of the week)"
    assert [s["step_name"] for s in run.output["step_results"]] == ["prepare", "publish"]
    assert run.answered_by == operator and run.answer["note"] == "ship it"
    assert EXECUTED == ["publish"]
    assert not in_store(run)  # ended: dropped from the pause store
    assert AuditEntry.objects.filter(action="answered", actor=operator, run=run).exists()


@pytest.mark.django_db
def test_rejecting_ends_the_run_as_agno_says(settings):
    run = paused_run("hitl-publish")
    answers_inline(settings)
    run = approvals.answer(run, user=make_user("operator"), decision="reject", note="no")
    # agno's default on_reject="skip": the workflow completes without the step.
    assert run.status == RunStatus.SUCCESS, run.error
    assert [s["step_name"] for s in run.output["step_results"]] == ["prepare"]
    assert run.output["content"] == "digest of the week"
    assert EXECUTED == []


@pytest.mark.django_db
def test_a_user_input_step_gets_the_values_given(settings):
    run = paused_run("hitl-charge")
    answers_inline(settings)
    [ask] = approvals.questions(run)
    assert ask["kind"] == "input" and [f["name"] for f in ask["fields"]] == ["account", "amount"]
    with pytest.raises(approvals.AnswerError):
        approvals.answer(run, user=make_user("operator"), decision="approve", values={})
    run = approvals.answer(
        run,
        user=make_user("operator"),
        decision="approve",
        values={"account": "acme", "amount": "1250"},
    )
    assert run.status == RunStatus.SUCCESS, run.error
    assert run.output["content"] == "charged 1250 to acme"
    assert EXECUTED == ["charge"]


@pytest.mark.django_db
def test_an_operator_approves_a_local_run_from_the_inbox(client, settings):
    run = paused_run("hitl-publish")
    answers_inline(settings)
    client.force_login(make_user("operator"))
    page = client.get(reverse("approval_list")).content.decode()
    assert f'action="/approvals/{run.pk}/answer/"' in page
    client.post(reverse("approval_answer", args=[run.pk]), {"decision": "approve"})
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCESS, run.error
    assert run.output["content"] == "published (digest of the week)"
    assert EXECUTED == ["publish"]


@pytest.mark.django_db
def test_the_answer_is_stored_first_and_continued_once_however_often_it_is_delivered(
    settings,
):
    """The handover is lost (manual dispatch: no worker gets it); a follower sends it
    again after the answer's lease; a duplicate delivery does nothing."""
    run = paused_run("hitl-publish")
    approvals.answer(run, user=make_user("operator"), decision="approve")
    run.refresh_from_db()
    assert (run.status, run.stage) == (RunStatus.RUNNING, RunStage.ANSWERING)
    assert EXECUTED == []
    # The answer's lease passes with no worker having taken it: a follower hands it over.
    ScheduleRun.objects.filter(pk=run.pk).update(next_check_at=db_now())
    answers_inline(settings)
    assert follow_until_done(run.pk, budget_s=30) == RunStatus.SUCCESS
    assert continue_local_run(run.pk) == "duplicate"  # a late copy of the message
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCESS and EXECUTED == ["publish"]


@pytest.mark.django_db(transaction=True)
def test_two_people_answering_at_once_one_wins_and_the_step_runs_once(settings):
    run = paused_run("hitl-publish")
    answers_inline(settings)
    alice, bob = make_user("operator", "alice"), make_user("admin", "bob")
    results = answer_at_once(run.pk, [alice, bob])
    won = [name for name, result in results.items() if result == "won"]
    assert len(won) == 1 and len(results) == 2, results
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCESS, run.error
    assert run.answered_by.username == won[0]
    assert EXECUTED == ["publish"]


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["reject", "cancel"])
def test_a_local_pause_that_waits_too_long_is_rejected_or_cancelled(settings, action):
    run = paused_run("hitl-publish", pause_timeout_s=60, pause_timeout_action=action)
    answers_inline(settings)
    ScheduleRun.objects.filter(pk=run.pk).update(pause_expires_at=db_now() - timedelta(seconds=1))
    assert approvals.expire_paused(db_now()) == [run.pk]
    expected = RunStatus.SUCCESS if action == "reject" else RunStatus.CANCELLED
    assert follow_until_done(run.pk, budget_s=30) == expected
    run.refresh_from_db()
    assert run.answered_by_name == "system"
    assert EXECUTED == []  # rejected (skipped) or cancelled: never published
    if action == "reject":
        assert [s["step_name"] for s in run.output["step_results"]] == ["prepare"]


@pytest.mark.django_db
def test_the_demo_asks_before_it_publishes_the_digest(settings):
    from scheduler_admin.demo import DEMO_SCHEDULES
    from scheduler_admin.engine.operations import create_schedule, trigger_now

    [spec] = [s for s in DEMO_SCHEDULES if s["endpoint"] == "/workflows/publish-digest/runs"]
    run = trigger_now(create_schedule(spec))
    assert execute_run(run.pk) == "paused"
    run.refresh_from_db()
    [ask] = approvals.questions(run)
    assert ask["message"] == "Publish the digest?" and approvals.can_answer_here(run)
    answers_inline(settings)
    run = approvals.answer(run, user=make_user("operator"), decision="approve")
    assert run.status == RunStatus.SUCCESS, run.error
    assert run.output["content"] == (
        "Published: draft from (outline of (notes on this week in agents))"
    )
