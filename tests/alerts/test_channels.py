"""Each channel kind against a real receiver: what arrives, and that no secret leaks."""

import base64
import hmac
import json
import logging
import time

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from scheduler_admin.alerts import content, delivery, incidents
from scheduler_admin.alerts.secrets import SecretUnreadable
from scheduler_admin.models import AlertChannel, DeliveryAttempt, Notification
from scheduler_admin.models.alerts import IncidentKind, NotificationEvent
from tests.factories import make_channel, make_run, make_schedule

pytestmark = pytest.mark.django_db


def verify_standard_webhook(secret: str, headers: dict, body: bytes, tolerance_s: int = 300):
    """Written from the Standard Webhooks specification, independently of the sender:
    the signed content is "{id}.{timestamp}.{body}", the key the base64 after whsec_,
    and the header a space-separated list of "v1,<base64 signature>"."""
    msg_id = headers["webhook-id"]
    timestamp = headers["webhook-timestamp"]
    assert abs(time.time() - int(timestamp)) < tolerance_s, "stale timestamp"
    key = base64.b64decode(secret.split("_", 1)[1])
    expected = hmac.new(key, b"%s.%s.%s" % (msg_id.encode(), timestamp.encode(), body), "sha256")
    wanted = base64.b64encode(expected.digest()).decode()
    offered = [s.split(",", 1) for s in headers["webhook-signature"].split(" ")]
    assert any(v == "v1" and hmac.compare_digest(sig, wanted) for v, sig in offered)


def failing_incident(**schedule_fields):
    schedule = make_schedule(name="nightly-digest", max_retries=2, **schedule_fields)
    run = make_run(
        schedule,
        status="failed",
        attempt=3,
        error="HTTP 500 from POST /agents/a/runs: boom",
        duration_ms=1234,
    )
    now = timezone.now()
    [_] = incidents.open_or_fold(
        f"schedule:{schedule.pk}:failing",
        IncidentKind.FAILING,
        now,
        schedule=schedule,
        target=schedule.target,
        run=run,
        title=f"Schedule {schedule.name} failing",
        summary="Failed after its last retry (3 attempts).",
    ) or [None]
    return run


def send_all() -> list[str]:
    return [delivery.deliver(pk) for pk in Notification.objects.values_list("pk", flat=True)]


def test_a_webhook_is_signed_so_an_independent_verifier_accepts_it(receiver):
    channel = make_channel("webhook", url=f"{receiver.url}/hook")
    run = failing_incident()
    assert send_all() == ["sent"]
    [request] = receiver.calls("/hook")
    headers = {k.lower(): v for k, v in request.headers.items()}
    verify_standard_webhook(channel.secrets()["signing_key"], headers, request.body)
    assert headers["webhook-id"] == f"msg_{Notification.objects.get().pk}"
    body = request.json()
    assert body["type"] == "incident.opened"
    assert set(body["data"]) == {"incident", "schedule", "target", "run"}
    assert body["data"]["run"]["id"] == run.pk and body["data"]["run"]["duration_ms"] == 1234
    assert body["data"]["schedule"]["name"] == "nightly-digest"


def test_a_tampered_webhook_body_fails_verification(receiver):
    channel = make_channel("webhook", url=f"{receiver.url}/hook")
    failing_incident()
    send_all()
    [request] = receiver.calls("/hook")
    headers = {k.lower(): v for k, v in request.headers.items()}
    with pytest.raises(AssertionError):
        verify_standard_webhook(channel.secrets()["signing_key"], headers, request.body + b" ")


def test_slack_gets_a_readable_message_with_the_schedule_error_and_links(receiver):
    make_channel("slack", url=f"{receiver.url}/services/T000/B000/XXXX")
    run = failing_incident()
    assert send_all() == ["sent"]
    [request] = receiver.calls("/services/T000/B000/XXXX")
    message = request.json()
    assert message["text"] == "[OPEN] Schedule nightly-digest failing"
    assert message["blocks"][0]["type"] == "header"
    facts = message["blocks"][1]["text"]["text"]
    assert "*Schedule*: nightly-digest" in facts
    assert "*Error*: HTTP 500 from POST /agents/a/runs: boom" in facts
    assert f"*Run*: <http://127.0.0.1:8000/runs/{run.pk}/|open>" in facts
    assert "*Attempt*: 3 of 3" in facts


def test_email_arrives_at_a_real_smtp_server_with_the_facts(smtp):
    make_channel("email", recipients=["oncall@example.com", "lead@example.com"])
    run = failing_incident()
    assert send_all() == ["sent"]
    [(to, message)] = smtp.messages
    assert sorted(to) == ["lead@example.com", "oncall@example.com"]
    assert message["Subject"] == "[OPEN] Schedule nightly-digest failing"
    text = message.get_payload()
    assert "Error: HTTP 500 from POST /agents/a/runs: boom" in text
    assert f"/runs/{run.pk}/" in text and "Duration: 1234 ms" in text
    attempt = DeliveryAttempt.objects.get()
    assert attempt.ok and attempt.status_code == 250


def test_a_refused_recipient_is_logged_and_not_retried(smtp):
    smtp.refuse.add("nobody@example.com")
    make_channel("email", recipients=["nobody@example.com"])
    failing_incident()
    assert send_all() == ["failed"]
    attempt = DeliveryAttempt.objects.get()
    assert "550" in attempt.error and "nobody@example.com" in attempt.error


def test_email_through_the_locmem_backend_too():
    make_channel("email", recipients=["oncall@example.com"])
    failing_incident()
    assert send_all() == ["sent"]
    assert mail.outbox[0].subject == "[OPEN] Schedule nightly-digest failing"


def test_apprise_delivers_the_long_tail_here_its_json_service(receiver):
    make_channel("apprise", url=f"json://127.0.0.1:{receiver.url.rsplit(':', 1)[1]}/apprise")
    failing_incident()
    assert send_all() == ["sent"]
    [request] = receiver.calls("/apprise")
    body = request.json()
    assert body["title"] == "[OPEN] Schedule nightly-digest failing"
    assert "Error: HTTP 500" in body["message"]


def test_apprise_failure_is_logged_without_the_url(receiver):
    receiver.status["/apprise"] = 500
    port = receiver.url.rsplit(":", 1)[1]
    make_channel("apprise", url=f"json://user:hunter2@127.0.0.1:{port}/apprise")
    failing_incident()
    assert send_all() == ["pending"]
    attempt = DeliveryAttempt.objects.get()
    assert not attempt.ok and attempt.error
    assert "hunter2" not in attempt.error


def test_secrets_are_encrypted_at_rest_and_only_a_hint_is_readable(receiver):
    channel = make_channel("slack", url="https://hooks.slack.com/services/T1/B2/sekrit-token")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM alert_channels WHERE id = %s", [channel.pk])
        row = json.dumps(cursor.fetchone(), default=str)
    assert "sekrit-token" not in row
    assert channel.secret_hint == "https://hooks.slack.com/…"
    assert AlertChannel.objects.get().secrets()["url"].endswith("sekrit-token")


def test_an_apprise_hint_shows_only_the_scheme():
    channel = make_channel("apprise", url="tgram://123456:bot-token/987")
    assert channel.secret_hint == "tgram://…"


def test_a_secret_from_another_secret_key_is_refused_clearly(settings):
    channel = make_channel("slack", url="https://hooks.slack.com/services/T/B/x")
    settings.SECRET_KEY = "a-different-key"
    with pytest.raises(SecretUnreadable):
        channel.secrets()
    settings.SECRET_KEY_FALLBACKS = [
        settings.SECRET_KEY,
        "dev-only-insecure-key-do-not-use-in-production",
    ]
    assert channel.secrets()["url"].endswith("/x")


def test_a_receiver_echoing_the_url_back_is_redacted_in_the_log(receiver, caplog):
    caplog.set_level(logging.DEBUG)
    receiver.status["/echo-token-abc"] = 404
    make_channel("slack", url=f"{receiver.url}/echo-token-abc")
    failing_incident()
    assert send_all() == ["failed"]  # 404: the webhook is gone, retrying cannot help
    assert "echo-token-abc" not in caplog.text
    assert not DeliveryAttempt.objects.filter(reply__contains="echo-token-abc").exists()


def test_no_token_goes_out_even_if_a_run_error_held_one(receiver, monkeypatch):
    monkeypatch.setenv("PEER_TOKEN", "tok-123456789")
    from scheduler_admin.models import Target

    target = Target.objects.create(
        name="peer", base_url="http://peer.invalid", token_env="PEER_TOKEN"
    )
    schedule = make_schedule(target=target, endpoint="/agents/a/runs", payload={"message": "m"})
    run = make_run(schedule, status="failed", error="server echoed Bearer tok-123456789")
    make_channel("webhook", url=f"{receiver.url}/hook")
    incidents.open_or_fold(
        "k", IncidentKind.FAILING, timezone.now(), title="t", schedule=schedule, run=run
    )
    send_all()
    assert b"tok-123456789" not in receiver.calls("/hook")[0].body


def test_the_test_message_reaches_the_channel(receiver):
    channel = make_channel("webhook", url=f"{receiver.url}/hook")
    Notification.objects.create(
        channel=channel,
        event=NotificationEvent.TEST,
        dedup_key="test:1",
        payload=content.test_payload(channel.name),
    )
    assert send_all() == ["sent"]
    assert receiver.calls("/hook")[0].json()["type"] == "test"
