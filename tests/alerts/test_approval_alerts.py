"""A run that pauses for a person raises an "approval needed" incident through the
alert channels, with a link to the inbox; it resolves once the run no longer waits."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agentos_bridge.outcome import Outcome
from scheduler_admin.alerts import incidents, monitor
from scheduler_admin.engine.outcomes import record_outcome
from scheduler_admin.models import Incident, Notification, RunStatus
from scheduler_admin.models.alerts import IncidentKind, IncidentStatus
from tests.factories import CONFIRM_STEP, make_channel, make_run, make_schedule

pytestmark = pytest.mark.django_db


def pause(schedule, pause_timeout_s=None):
    run = make_run(
        schedule, status=RunStatus.RUNNING, worker="w", started_at=timezone.now(), run_id="a-1"
    )
    record_outcome(run, Outcome(status="paused", requirements=CONFIRM_STEP), worker="w")
    incidents.process_pending()
    run.refresh_from_db()
    return run


def test_a_pause_opens_an_approval_needed_incident_that_notifies_the_channels():
    make_channel("webhook", url="http://127.0.0.1:9/hook")
    schedule = make_schedule(
        endpoint="/workflows/publish/runs", pause_timeout_s=600, pause_timeout_action="cancel"
    )
    run = pause(schedule)
    assert run.status == RunStatus.PAUSED and run.paused_at
    assert run.pause_expires_at == run.paused_at + timedelta(seconds=600)
    incident = Incident.objects.get()
    assert incident.kind == IncidentKind.APPROVAL_NEEDED and incident.last_run == run
    assert "Publish the digest?" in incident.summary and "/approvals/" in incident.summary
    assert Notification.objects.filter(incident=incident).count() == 1


def test_the_incident_resolves_once_the_run_no_longer_waits():
    run = pause(make_schedule(endpoint="/workflows/publish/runs"))
    monitor.resolve_stale(timezone.now())
    assert Incident.objects.get().status != IncidentStatus.RESOLVED
    type(run).objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
    monitor.resolve_stale(timezone.now())
    assert Incident.objects.get().status == IncidentStatus.RESOLVED
