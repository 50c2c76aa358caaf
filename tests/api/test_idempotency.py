"""Idempotency-Key on every API POST: a retried create, trigger or retry never makes
two."""

import json

import pytest
from django.test import Client

from scheduler_admin.models import ApiToken, RunStatus, Schedule, ScheduleRun
from tests.factories import make_run, make_schedule, make_user

pytestmark = pytest.mark.django_db

BODY = {
    "name": "digest",
    "cron_expr": "0 9 * * *",
    "endpoint": "/agents/a/runs",
    "payload": {"message": "go"},
}


@pytest.fixture
def api() -> Client:
    _, raw = ApiToken.issue(make_user("admin"), "idem")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def post(api: Client, path: str, body=None, key: str | None = None):
    headers = {"Idempotency-Key": key} if key else {}
    data = json.dumps(body) if body is not None else ""
    return api.post(path, data, content_type="application/json", headers=headers)


def test_a_create_sent_twice_with_one_key_makes_one_schedule(api):
    first = post(api, "/api/schedules", BODY, key="create-1")
    again = post(api, "/api/schedules", BODY, key="create-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Schedule.objects.filter(name="digest").count() == 1


def test_without_a_key_the_second_create_is_a_duplicate(api):
    assert post(api, "/api/schedules", BODY).status_code == 201
    assert post(api, "/api/schedules", BODY).status_code == 409


def test_a_trigger_sent_twice_with_one_key_queues_one_run(api):
    schedule = make_schedule()
    url = f"/api/schedules/{schedule.pk}/trigger"
    first, again = post(api, url, key="t-1"), post(api, url, key="t-1")
    assert first.json()["id"] == again.json()["id"]
    assert ScheduleRun.objects.filter(schedule=schedule).count() == 1
    assert post(api, url, key="t-2").json()["id"] != first.json()["id"]


def test_a_retry_sent_twice_with_one_key_makes_one_attempt(api):
    run = make_run(make_schedule(), status=RunStatus.FAILED)
    url = f"/api/runs/{run.pk}/retry"
    first, again = post(api, url, key="r-1"), post(api, url, key="r-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert run.retries.count() == 1


def test_the_same_key_with_another_request_is_refused(api):
    assert post(api, "/api/schedules", BODY, key="k").status_code == 201
    other = post(api, "/api/schedules", {**BODY, "name": "other"}, key="k")
    assert other.status_code == 422
    assert other.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert not Schedule.objects.filter(name="other").exists()


def test_a_refused_request_lets_the_key_be_used_again(api):
    bad = post(api, "/api/schedules", {**BODY, "timezone": "Mars/Olympus"}, key="fix-me")
    assert bad.status_code == 422
    fixed = post(api, "/api/schedules", {**BODY, "timezone": "Mars/Olympus"}, key="fix-me")
    assert fixed.status_code == 422 and "Idempotent-Replayed" not in fixed


def test_keys_belong_to_their_user(api):
    assert post(api, "/api/schedules", BODY, key="shared").status_code == 201
    _, raw = ApiToken.issue(make_user("admin"), "someone else")
    theirs = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    answer = post(theirs, "/api/schedules", {**BODY, "name": "theirs"}, key="shared")
    assert answer.status_code == 201 and answer.json()["name"] == "theirs"


@pytest.mark.parametrize(
    "key", ["x" * 256, "caf\u00e9", "a\x00b"], ids=["long", "non_ascii", "nul"]
)
def test_an_unusable_key_is_refused_naming_the_header(api, key):
    response = api.post(
        "/api/schedules",
        json.dumps(BODY),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert not Schedule.objects.exists()


def test_every_post_documents_the_key_and_every_body_the_size_limit():
    from scheduler_admin.api.openapi import build

    for path, operations in build()["paths"].items():
        for method, operation in operations.items():
            headers = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
            assert ("Idempotency-Key" in headers) == (method == "post"), (method, path)
            if "requestBody" in operation:
                assert "413" in operation["responses"], (method, path)


def test_a_key_is_forgotten_after_a_day(api, time_machine):
    from datetime import UTC, datetime, timedelta

    time_machine.move_to(datetime(2026, 1, 1, tzinfo=UTC), tick=False)
    schedule = make_schedule()
    url = f"/api/schedules/{schedule.pk}/trigger"
    first = post(api, url, key="daily")
    time_machine.shift(timedelta(hours=24, seconds=1))
    later = post(api, url, key="daily")
    assert later.json()["id"] != first.json()["id"]
