"""GET /api/approvals and POST /api/runs/<id>/continue over HTTP, by token: operators
answer, viewers read, a second answer is 409, input that does not fit the schema 422.
(The answer reaching a real AgentOS: tests/bridge/test_approvals_agentos.py.)"""

from scheduler_admin.models import AuditEntry, RunStage, RunStatus, ScheduleRun
from tests.api.conftest import LIVE
from tests.factories import INPUT_STEP, make_paused_run, make_run, make_schedule

pytestmark = LIVE


def test_the_list_shows_what_paused_runs_ask_oldest_first(viewer_api):
    first, second = make_paused_run(), make_paused_run(INPUT_STEP)
    make_run(make_schedule(), status=RunStatus.FAILED)
    body = viewer_api.get("approvals").json()
    assert [item["run_id"] for item in body["data"]] == [str(first.pk), str(second.pk)]
    assert body["data"][0]["questions"][0]["message"] == "Publish the digest?"
    assert [f["name"] for f in body["data"][1]["questions"][0]["fields"]] == ["account", "amount"]
    assert body["data"][0]["answerable"] is True


def test_an_operator_answers_and_the_run_is_followed_again(operator_api, continues_sent):
    run = make_paused_run(INPUT_STEP)
    response = operator_api.post(
        f"runs/{run.pk}/continue",
        json={"decision": "approve", "values": {"account": "acme", "amount": 3}},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["stage"]) == ("running", "following")
    assert body["answer"] == {
        "decision": "approve",
        "note": "",
        "values": {"account": "acme", "amount": 3},
    }
    assert body["answered_by"] and body["answered_at"]
    assert continues_sent[0][1][0]["user_input"] == {"account": "acme", "amount": 3}
    assert AuditEntry.objects.filter(action="answered", run=run).exists()


def test_input_that_does_not_fit_the_schema_is_422_and_nothing_is_sent(
    operator_api, continues_sent
):
    run = make_paused_run(INPUT_STEP)
    response = operator_api.post(
        f"runs/{run.pk}/continue", json={"decision": "approve", "values": {"amount": "x"}}
    )
    assert response.status_code == 422
    locs = sorted(p["loc"][-1] for p in response.json()["detail"])
    assert locs == ["account", "amount"]
    bad_bodies = ({}, {"decision": "maybe"}, {"decision": "approve", "values": []}, {"x": 1})
    for bad in bad_bodies:
        assert operator_api.post(f"runs/{run.pk}/continue", json=bad).status_code == 422, bad
    assert ScheduleRun.objects.get(pk=run.pk).status == RunStatus.PAUSED
    assert continues_sent == []


def test_a_second_answer_is_409(operator_api, continues_sent):
    run = make_paused_run()
    assert operator_api.post(f"runs/{run.pk}/continue", json={"decision": "reject"}).ok
    again = operator_api.post(f"runs/{run.pk}/continue", json={"decision": "approve"})
    assert again.status_code == 409
    assert len(continues_sent) == 1
    assert ScheduleRun.objects.get(pk=run.pk).stage == RunStage.FOLLOWING


def test_a_viewer_may_not_answer(viewer_api, continues_sent):
    run = make_paused_run()
    response = viewer_api.post(f"runs/{run.pk}/continue", json={"decision": "approve"})
    assert response.status_code == 403
    assert ScheduleRun.objects.get(pk=run.pk).status == RunStatus.PAUSED


def test_an_unknown_run_is_404(operator_api):
    assert (
        operator_api.post("runs/999999/continue", json={"decision": "approve"}).status_code == 404
    )
