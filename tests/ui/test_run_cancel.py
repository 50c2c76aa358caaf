"""Cancelling from the console (the run page's button, the runs list's bulk action,
keeping the list's filters) and from SchedulerTools."""

import json

from django.urls import reverse

from agentos_bridge.tools import SchedulerTools
from scheduler_admin.engine import operations
from scheduler_admin.models import RunStatus, ScheduleRun
from tests.factories import make_run, make_schedule, make_user
from tests.ui.conftest import client_for


def test_an_operator_cancels_a_queued_run_from_its_page(db):
    run = make_run(make_schedule(), status=RunStatus.QUEUED)
    client = client_for("operator")
    assert "Cancel run" in client.get(reverse("run_detail", args=[run.pk])).text
    response = client.post(reverse("run_cancel", args=[run.pk]), follow=True)
    assert f"Run {run.pk} cancelled." in response.text
    assert ScheduleRun.objects.get(pk=run.pk).status == RunStatus.CANCELLED


def test_a_viewer_sees_no_cancel_button_and_is_refused(db):
    run = make_run(make_schedule(), status=RunStatus.QUEUED)
    client = client_for("viewer")
    assert "Cancel run" not in client.get(reverse("run_detail", args=[run.pk])).text
    assert client.post(reverse("run_cancel", args=[run.pk])).status_code == 403
    assert ScheduleRun.objects.get(pk=run.pk).status == RunStatus.QUEUED


def test_bulk_cancel_confirms_then_cancels_and_keeps_the_filters(db):
    schedule = make_schedule()
    waiting = [make_run(schedule, status=RunStatus.QUEUED, attempt=n) for n in (1, 2)]
    done = make_run(schedule, status=RunStatus.SUCCESS, attempt=3)
    client = client_for("operator")
    picked = {"run": [r.pk for r in [*waiting, done]], "back": "/runs/?status=queued"}
    confirm = client.post(reverse("run_bulk_cancel"), picked)
    assert "Cancel 3 runs?" in confirm.text and "cannot be cancelled: success" in confirm.text
    response = client.post(reverse("run_bulk_cancel"), {**picked, "confirmed": "yes"})
    assert response.status_code == 302 and response.url == "/runs/?status=queued"
    statuses = set(
        ScheduleRun.objects.filter(pk__in=picked["run"]).values_list("status", flat=True)
    )
    assert statuses == {RunStatus.CANCELLED, RunStatus.SUCCESS}


def test_disabling_a_schedule_cancels_its_waiting_retry_and_held_runs(db):
    schedule = make_schedule()
    failed = make_run(schedule, status=RunStatus.FAILED)
    retry = make_run(schedule, status=RunStatus.QUEUED, attempt=2, retry_of=failed)
    held = make_run(schedule, status=RunStatus.QUEUED, held_for_overlap=True, attempt=3)
    operations.set_enabled(schedule, False, user=make_user("operator"))
    for run in (retry, held):
        run.refresh_from_db()
        assert run.status == RunStatus.CANCELLED and "schedule disabled" in run.error


def test_an_agent_cancels_a_run_with_its_tool(db):
    run = make_run(make_schedule(), status=RunStatus.QUEUED)
    tools = SchedulerTools(user=make_user("operator"))
    assert json.loads(tools.cancel_run(str(run.pk)))["status"] == "cancelled"
    assert "error" in json.loads(tools.cancel_run(str(run.pk)))
    assert "error" in json.loads(tools.cancel_run("ten"))
    viewer_tools = SchedulerTools(user=make_user("viewer"))
    other = make_run(make_schedule(), status=RunStatus.QUEUED)
    assert "error" in json.loads(viewer_tools.cancel_run(str(other.pk)))
    assert ScheduleRun.objects.get(pk=other.pk).status == RunStatus.QUEUED
