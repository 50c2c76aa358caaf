"""SchedulerTools and the approvals inbox: an agent lists the runs waiting for a person
and answers one, with the same rules (schema, one winner, roles) as the console."""

import json

import pytest

from agentos_bridge.tools import SchedulerTools
from scheduler_admin.models import RunStage, RunStatus
from tests.factories import INPUT_STEP, make_paused_run, make_user

pytestmark = pytest.mark.django_db


def call(tools, tool, **kwargs) -> dict:
    answer = getattr(tools, tool)(**kwargs)
    assert isinstance(answer, str)
    return json.loads(answer)


def test_an_agent_lists_pending_approvals_with_what_they_ask():
    run = make_paused_run(INPUT_STEP)
    listed = call(SchedulerTools(), "list_pending_approvals")
    assert listed["count"] == 1
    [item] = listed["data"]
    assert item["run_id"] == str(run.pk) and item["questions"][0]["kind"] == "input"
    assert "error" in call(SchedulerTools(), "list_pending_approvals", limit="lots")


def test_an_agent_answers_one_and_a_second_answer_is_refused(continues_sent):
    run = make_paused_run(INPUT_STEP)
    tools = SchedulerTools(user=make_user("operator"))
    bad = call(tools, "answer_approval", run=str(run.pk), decision="approve", values={})
    assert set(bad["fields"]) == {"account", "amount"}
    done = call(
        tools,
        "answer_approval",
        run=str(run.pk),
        decision="approve",
        values={"account": "acme", "amount": 5},
    )
    assert (done["status"], done["stage"]) == (RunStatus.RUNNING, RunStage.FOLLOWING)
    again = call(tools, "answer_approval", run=str(run.pk), decision="reject")
    assert again["error"].endswith(" answered this run first.")
    assert len(continues_sent) == 1
    assert "error" in call(tools, "answer_approval", run="nope", decision="approve")


def test_a_viewers_agent_may_list_but_not_answer(continues_sent):
    run = make_paused_run()
    tools = SchedulerTools(user=make_user("viewer"))
    assert call(tools, "list_pending_approvals")["count"] == 1
    denied = call(tools, "answer_approval", run=str(run.pk), decision="approve")
    assert denied["error"] == "Your role does not allow: answer."
    assert continues_sent == []
