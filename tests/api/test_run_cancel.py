"""POST /api/runs/<id>/cancel over HTTP: operators cancel, viewers may not, ended runs
answer 409."""

from scheduler_admin.models import AuditEntry, RunStatus, ScheduleRun
from tests.api.conftest import LIVE
from tests.factories import make_run, make_schedule

pytestmark = LIVE


def test_an_operator_cancels_a_queued_run(operator_api):
    run = make_run(make_schedule(), status=RunStatus.QUEUED)
    response = operator_api.post(f"runs/{run.pk}/cancel")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED and run.cancelled_by is not None
    assert AuditEntry.objects.filter(action="cancelled", run=run).exists()


def test_an_ended_run_cannot_be_cancelled(operator_api):
    run = make_run(make_schedule(), status=RunStatus.SUCCESS)
    response = operator_api.post(f"runs/{run.pk}/cancel")
    assert response.status_code == 409
    assert "cannot be cancelled" in response.json()["detail"]
    assert ScheduleRun.objects.get(pk=run.pk).status == RunStatus.SUCCESS


def test_a_viewer_may_not_cancel(viewer_api):
    run = make_run(make_schedule(), status=RunStatus.QUEUED)
    assert viewer_api.post(f"runs/{run.pk}/cancel").status_code == 403
    assert ScheduleRun.objects.get(pk=run.pk).status == RunStatus.QUEUED


def test_an_unknown_run_is_404(operator_api):
    assert operator_api.post("runs/999999/cancel").status_code == 404
