"""The console pages: channels (admins manage, secrets never rendered), incidents
(operators acknowledge and resolve), and who may do what."""

import logging

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from scheduler_admin.alerts import delivery, incidents
from scheduler_admin.models import AlertChannel, Incident, Notification
from scheduler_admin.models.alerts import IncidentKind, IncidentStatus
from tests.factories import make_channel, make_run, make_schedule, make_user

pytestmark = pytest.mark.django_db

SLACK_URL = "https://hooks.slack.com/services/T1/B2/very-secret-token"


def client_for(role: str) -> Client:
    client = Client()
    client.force_login(make_user(role))
    return client


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def channel_form(**overrides) -> dict:
    data = {"name": "ops", "kind": "slack", "enabled": "on", "secret_url": SLACK_URL}
    data.update(overrides)
    data.setdefault("kinds", ["failing", "target_down", "scheduler_silent"])
    return data


def open_incident(schedule=None) -> Incident:
    schedule = schedule or make_schedule(name="nightly")
    run = make_run(schedule, status="failed", error="boom")
    incidents.open_or_fold(
        f"schedule:{schedule.pk}:failing",
        IncidentKind.FAILING,
        timezone.now(),
        schedule=schedule,
        run=run,
        title="Schedule nightly failing",
    )
    return Incident.objects.get()


def test_admin_creates_a_slack_channel_and_its_url_is_never_shown_again(caplog):
    caplog.set_level(logging.DEBUG)
    admin = client_for("admin")
    response = admin.post(reverse("channel_create"), channel_form())
    assert response.status_code == 302
    channel = AlertChannel.objects.get()
    assert channel.secrets()["url"] == SLACK_URL
    for url in (
        reverse("channel_list"),
        reverse("channel_detail", args=[channel.pk]),
        reverse("channel_edit", args=[channel.pk]),
    ):
        page = admin.get(url).content.decode()
        assert "very-secret-token" not in page and "hooks.slack.com" in page
    assert "very-secret-token" not in caplog.text


def test_editing_without_a_url_keeps_the_stored_one():
    admin = client_for("admin")
    admin.post(reverse("channel_create"), channel_form())
    channel = AlertChannel.objects.get()
    response = admin.post(
        reverse("channel_edit", args=[channel.pk]), channel_form(name="ops-2", secret_url="")
    )
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.name == "ops-2" and channel.secrets()["url"] == SLACK_URL


def test_a_webhook_signing_key_is_shown_once_at_creation():
    admin = client_for("admin")
    response = admin.post(
        reverse("channel_create"),
        channel_form(kind="webhook", secret_url="https://receiver.example/hook"),
    )
    key = AlertChannel.objects.get().secrets()["signing_key"]
    assert key.startswith("whsec_") and key in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    channel = AlertChannel.objects.get()
    assert key not in admin.get(reverse("channel_detail", args=[channel.pk])).content.decode()
    assert key not in admin.get(reverse("channel_edit", args=[channel.pk])).content.decode()


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"secret_url": ""}, "secret_url"),
        ({"secret_url": "ftp://x.example/"}, "secret_url"),
        ({"kind": "apprise", "secret_url": "nonsense"}, "secret_url"),
        ({"kind": "email", "recipients_text": "not-an-address"}, "recipients_text"),
        ({"kind": "email", "recipients_text": ""}, "recipients_text"),
        ({"kinds": []}, "kinds"),
    ],
)
def test_bad_channel_input_is_refused_naming_the_field(bad, field):
    response = client_for("admin").post(reverse("channel_create"), channel_form(**bad))
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not AlertChannel.objects.exists()


def test_send_test_queues_a_message_and_the_log_shows_the_answer(settings, receiver):
    channel = make_channel("webhook", url=f"{receiver.url}/hook")
    admin = client_for("admin")
    response = admin.post(reverse("channel_test", args=[channel.pk]))
    assert response.status_code == 302
    notification = Notification.objects.get(channel=channel, event="test")
    delivery.deliver(notification.pk)
    page = admin.get(reverse("channel_detail", args=[channel.pk])).content.decode()
    assert "sent" in page and "200" in page
    assert len(receiver.calls("/hook")) == 1


def test_viewers_and_operators_cannot_manage_channels():
    channel = make_channel("slack", url=SLACK_URL)
    for role in ("viewer", "operator"):
        client = client_for(role)
        assert client.get(reverse("channel_create")).status_code == 403
        assert client.post(reverse("channel_test", args=[channel.pk])).status_code == 403
        assert client.post(reverse("channel_delete", args=[channel.pk])).status_code == 403
        assert client.get(reverse("channel_list")).status_code == 200


def test_an_operator_acknowledges_then_resolves_and_who_and_when_are_recorded():
    incident = open_incident()
    operator = client_for("operator")
    url = reverse("incident_action", args=[incident.pk])
    operator.post(url, {"acknowledge": "1"})
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.ACKNOWLEDGED
    assert incident.acknowledged_by.groups.filter(name="operator").exists()
    assert incident.acknowledged_at is not None
    operator.post(url, {"resolve": "1"})
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.RESOLVED and incident.resolved_by is not None
    page = operator.get(reverse("incident_detail", args=[incident.pk])).content.decode()
    assert "Resolved by operator-" in page


def test_a_viewer_cannot_acknowledge():
    incident = open_incident()
    response = client_for("viewer").post(
        reverse("incident_action", args=[incident.pk]), {"acknowledge": "1"}
    )
    assert response.status_code == 403


def test_the_incident_page_links_its_runs():
    incident = open_incident()
    page = client_for("viewer").get(reverse("incident_detail", args=[incident.pk])).content
    assert reverse("run_detail", args=[incident.last_run_id]).encode() in page


def test_incident_list_shows_unresolved_by_default_and_filters(django_assert_max_num_queries):
    incident = open_incident()
    viewer = client_for("viewer")
    with django_assert_max_num_queries(6):
        page = viewer.get(reverse("incident_list")).content.decode()
    assert incident.title in page
    incidents.resolve(incident, timezone.now(), note="done")
    assert incident.title not in viewer.get(reverse("incident_list")).content.decode()
    resolved = viewer.get(reverse("incident_list") + "?status=resolved").content.decode()
    assert incident.title in resolved


def test_the_dashboard_shows_open_incidents():
    incident = open_incident()
    page = client_for("viewer").get(reverse("dashboard")).content.decode()
    assert incident.title in page


def test_an_admin_sets_a_schedules_threshold_mute_and_channels():
    schedule = make_schedule()
    channel = make_channel("slack", url=SLACK_URL)
    url = reverse("schedule_alerts", args=[schedule.pk])
    assert client_for("viewer").get(url).status_code == 200
    assert client_for("operator").post(url, {"failure_threshold": 3}).status_code == 403
    response = client_for("admin").post(
        url, {"failure_threshold": 3, "muted": "on", "channels": [channel.pk]}
    )
    assert response.status_code == 302
    rule = schedule.alert_rule
    assert rule.failure_threshold == 3 and rule.muted
    assert list(rule.channels.all()) == [channel]
    bad = client_for("admin").post(url, {"failure_threshold": 0})
    assert bad.status_code == 400 and "failure_threshold" in bad.context["form"].errors
