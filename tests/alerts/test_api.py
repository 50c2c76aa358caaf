"""/api/alerts/: channels and incidents readable by token; acknowledging by token."""

import pytest
from django.test import Client
from django.utils import timezone

from scheduler_admin.alerts import incidents
from scheduler_admin.models import ApiToken, Incident
from scheduler_admin.models.alerts import IncidentKind
from tests.factories import make_channel, make_run, make_schedule, make_user

pytestmark = pytest.mark.django_db


def api(role: str):
    _, raw = ApiToken.issue(make_user(role), f"{role}-token")
    client = Client()

    def call(method: str, path: str):
        return getattr(client, method)(f"/api/alerts/{path}", HTTP_AUTHORIZATION=f"Bearer {raw}")

    return call


def open_incident() -> Incident:
    schedule = make_schedule()
    run = make_run(schedule, status="failed", error="boom")
    incidents.open_or_fold(
        "schedule:x:failing", IncidentKind.FAILING, timezone.now(), title="t", run=run
    )
    return Incident.objects.get()


def test_channels_are_listed_without_their_secrets():
    make_channel("slack", url="https://hooks.slack.com/services/T/B/secret-part", name="ops")
    answer = api("viewer")("get", "channels")
    assert answer.status_code == 200
    [channel] = answer.json()["data"]
    assert channel["name"] == "ops" and channel["destination"] == "https://hooks.slack.com/…"
    assert "secret-part" not in answer.content.decode()
    assert "signing_key" not in answer.content.decode()


def test_incidents_are_listed_and_read_by_token():
    incident = open_incident()
    viewer = api("viewer")
    [row] = viewer("get", "incidents?status=open").json()["data"]
    assert row["id"] == str(incident.pk) and row["kind"] == "failing"
    assert viewer("get", "incidents?status=resolved").json()["data"] == []
    assert viewer("get", f"incidents/{incident.pk}").json()["title"] == "t"
    assert viewer("get", "incidents/999999").status_code == 404
    assert viewer("get", "incidents?status=nonsense").status_code == 422


def test_an_operator_acknowledges_by_api_once():
    incident = open_incident()
    operator = api("operator")
    answer = operator("post", f"incidents/{incident.pk}/acknowledge")
    assert answer.status_code == 200
    assert answer.json()["status"] == "acknowledged"
    assert answer.json()["acknowledged_by"].startswith("operator-")
    assert operator("post", f"incidents/{incident.pk}/acknowledge").status_code == 409


def test_a_viewer_cannot_acknowledge_and_a_stranger_cannot_read():
    incident = open_incident()
    assert api("viewer")("post", f"incidents/{incident.pk}/acknowledge").status_code == 403
    assert Client().get("/api/alerts/incidents").status_code == 401
