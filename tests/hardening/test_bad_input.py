"""The bad-input battery: every field of every form and API body, answered the same
way on SQLite and PostgreSQL (test_bad_input_postgres.py runs this file there).

One rule everywhere: refuse (4xx, never 500), name the field, say why, save nothing.
"""

import json
import os

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from agentos_bridge.tools import SchedulerTools
from scheduler_admin.models import ApiToken, RunStatus, Schedule, ScheduleRun, Target
from scheduler_admin.validators import PAYLOAD_MAX_BYTES
from tests.factories import make_run, make_schedule, make_user

DEEP = "[" * 10_000 + "]" * 10_000
DEEP_OBJECT = '{"message": "go", "x": ' + DEEP + "}"

# Payload texts as typed in a form or sent inside a JSON body; each is refused.
BAD_PAYLOAD_TEXTS = {
    "nul_escape": '{"message": "a\\u0000b"}',
    "nul_in_key": '{"a\\u0000": 1, "message": "go"}',
    "nan": '{"message": "go", "x": NaN}',
    "infinity": '{"message": "go", "x": Infinity}',
    "minus_infinity": '{"message": "go", "x": -Infinity}',
    "overflow": '{"message": "go", "x": 1e999}',
    "deep": DEEP_OBJECT,
    "too_big": json.dumps({"message": "x" * (PAYLOAD_MAX_BYTES + 1)}),
    "not_object": "[1, 2]",
}

# Other form fields with text a database must not get: raw NUL, and numbers that are
# not numbers.
BAD_FORM_FIELDS = [
    ("name", "night\x00ly"),
    ("description", "a\x00b"),
    ("endpoint", "/agents/a\x00/runs"),
    ("cron_expr", "0 9 * * \x00"),
    ("timezone", "UTC\x00"),
    ("method", "PO\x00ST"),
    ("timeout_s", "NaN"),
    ("timeout_s", "1e999"),
    ("retry_delay_s", "inf"),
    ("max_retries", "1e999"),
    ("retry_backoff", "NaN"),
    ("retry_backoff", "-Infinity"),
    ("pause_after_failures", "1e999"),
    ("overlap_policy", "sk\x00ip"),
]


def test_the_battery_runs_on_the_database_it_was_given(db):
    given = os.environ.get("DATABASE_URL", "sqlite")
    assert connection.vendor == ("postgresql" if given.startswith("postgres") else "sqlite")


def form_data(**overrides) -> dict:
    data = {
        "name": "daily digest",
        "description": "",
        "target": Target.objects.local().pk,
        "endpoint": "/agents/digest/runs",
        "method": "POST",
        "payload": json.dumps({"message": "Digest please"}),
        "cron_expr": "0 9 * * 1-5",
        "timezone": "Europe/Berlin",
        "timeout_s": "600",
        "max_retries": "2",
        "retry_delay_s": "60",
        "retry_backoff": "2",
        "enabled": "on",
        "overlap_policy": "skip",
        "catch_up_policy": "latest",
        "pause_after_failures": "",
    }
    data.update(overrides)
    return data


def api_body(**overrides) -> dict:
    body = {
        "name": "daily digest",
        "cron_expr": "0 9 * * 1-5",
        "endpoint": "/agents/digest/runs",
        "payload": {"message": "Digest please"},
        "timezone": "UTC",
    }
    body.update(overrides)
    return body


def with_raw_payload(body: dict, payload_text: str) -> str:
    """A JSON body whose payload is spliced in as raw text (NaN, 1e999, depth)."""
    text = json.dumps({**body, "payload": "@@"})
    return text.replace('"@@"', payload_text)


def snapshot() -> list:
    """Every stored schedule and run, to prove a refusal changed nothing."""
    schedules = list(Schedule.objects.order_by("pk").values())
    runs = list(ScheduleRun.objects.order_by("pk").values())
    return [schedules, runs]


@pytest.fixture
def as_admin(db) -> Client:
    client = Client()
    client.force_login(make_user("admin"))
    return client


@pytest.fixture
def api(db) -> Client:
    _, raw = ApiToken.issue(make_user("admin"), "battery")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.fixture
def failed_run(db) -> ScheduleRun:
    schedule = make_schedule(name="nightly", payload={"message": "go"})
    return make_run(schedule, status=RunStatus.FAILED, error="boom")


def form_errors(response) -> dict:
    return response.context["form"].errors


# --- console: schedule form (create and edit) ---------------------------------------


@pytest.mark.parametrize("payload", BAD_PAYLOAD_TEXTS.values(), ids=BAD_PAYLOAD_TEXTS.keys())
def test_schedule_form_refuses_bad_payloads(as_admin, payload):
    before = snapshot()
    response = as_admin.post(reverse("schedule_create"), form_data(payload=payload))
    assert response.status_code == 400
    assert "payload" in form_errors(response), form_errors(response)
    assert snapshot() == before


@pytest.mark.parametrize("field,value", BAD_FORM_FIELDS, ids=lambda v: repr(v)[:20])
def test_schedule_form_refuses_bad_fields(as_admin, field, value):
    before = snapshot()
    response = as_admin.post(reverse("schedule_create"), form_data(**{field: value}))
    assert response.status_code == 400
    assert field in form_errors(response), form_errors(response)
    assert snapshot() == before


@pytest.mark.parametrize("payload", BAD_PAYLOAD_TEXTS.values(), ids=BAD_PAYLOAD_TEXTS.keys())
def test_edit_form_refuses_bad_payloads(as_admin, payload):
    schedule = make_schedule(name="daily digest", payload={"message": "Digest please"})
    before = snapshot()
    url = reverse("schedule_edit", args=[schedule.pk])
    response = as_admin.post(url, form_data(payload=payload))
    assert response.status_code == 400
    assert "payload" in form_errors(response)
    assert snapshot() == before


@pytest.mark.parametrize("field,value", BAD_FORM_FIELDS, ids=lambda v: repr(v)[:20])
def test_edit_form_refuses_bad_fields(as_admin, field, value):
    schedule = make_schedule(name="daily digest", payload={"message": "Digest please"})
    before = snapshot()
    url = reverse("schedule_edit", args=[schedule.pk])
    response = as_admin.post(url, form_data(**{field: value}))
    assert response.status_code == 400
    assert field in form_errors(response)
    assert snapshot() == before


@pytest.mark.parametrize("payload", BAD_PAYLOAD_TEXTS.values(), ids=BAD_PAYLOAD_TEXTS.keys())
def test_retry_with_edits_refuses_bad_payloads(as_admin, failed_run, payload):
    before = snapshot()
    url = reverse("run_retry", args=[failed_run.pk])
    response = as_admin.post(url, {"payload": payload})
    assert response.status_code == 400
    assert "payload" in response.context["retry_form"].errors
    assert snapshot() == before


@pytest.mark.parametrize("payload", BAD_PAYLOAD_TEXTS.values(), ids=BAD_PAYLOAD_TEXTS.keys())
def test_payload_check_explains_bad_payloads(db, payload):
    client = Client()
    client.force_login(make_user("viewer"))
    response = client.get(reverse("schedule_payload_check"), {"payload": payload})
    assert response.status_code == 200
    assert b'class="error"' in response.content
    assert b"Valid JSON object" not in response.content


@pytest.mark.parametrize("reason", ["down\x00now", "x" * 501], ids=["nul", "too_long"])
def test_pause_refuses_bad_reasons_and_keeps_the_schedule_enabled(as_admin, reason):
    schedule = make_schedule(name="nightly")
    before = snapshot()
    url = reverse("schedule_pause", args=[schedule.pk])
    response = as_admin.post(url, {"reason": reason}, follow=True)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert any("Not paused" in m and "eason" in m for m in shown), shown
    assert snapshot() == before


# --- API ------------------------------------------------------------------------------


def problems_of(response) -> list:
    return [tuple(p["loc"]) for p in response.json()["detail"]]


@pytest.mark.parametrize("payload", BAD_PAYLOAD_TEXTS.values(), ids=BAD_PAYLOAD_TEXTS.keys())
def test_api_create_refuses_bad_payloads(api, payload):
    before = snapshot()
    body = with_raw_payload(api_body(), payload)
    response = api.post("/api/schedules", body, content_type="application/json")
    assert response.status_code == 422, response.content[:300]
    locs = problems_of(response)
    # The deep body cannot even be parsed: the body as a whole is named.
    assert ("body", "payload") in locs or locs == [("body",)], locs
    assert snapshot() == before


API_BAD_FIELDS = [
    ("name", "night\x00ly"),
    ("description", "a\x00b"),
    ("endpoint", "/agents/a\x00/runs"),
    ("cron_expr", "0 9 * * \x00"),
    ("timezone", "UTC\x00"),
    ("target", "lo\x00cal"),
    ("method", "PO\x00ST"),
    ("overlap_policy", "sk\x00ip"),
    ("timeout_seconds", 10**30),
    ("retry_backoff", 1e308 * 10),  # json.dumps writes Infinity
    ("max_retries", 1.5),
    ("pause_after_failures", -1),
]


@pytest.mark.parametrize("field,value", API_BAD_FIELDS, ids=lambda v: repr(v)[:20])
def test_api_create_refuses_bad_fields(api, field, value):
    before = snapshot()
    body = json.dumps(api_body(**{field: value}))
    response = api.post("/api/schedules", body, content_type="application/json")
    assert response.status_code == 422, response.content[:300]
    assert ("body", field) in problems_of(response) or (
        # Infinity is not JSON: the body is refused before its fields are read.
        field == "retry_backoff" and problems_of(response) == [("body",)]
    )
    assert snapshot() == before


@pytest.mark.parametrize("payload", BAD_PAYLOAD_TEXTS.values(), ids=BAD_PAYLOAD_TEXTS.keys())
def test_api_patch_refuses_bad_payloads(api, payload):
    schedule = make_schedule(name="nightly", payload={"message": "go"})
    before = snapshot()
    body = with_raw_payload({"name": ""}, payload)
    response = api.patch(f"/api/schedules/{schedule.pk}", body, content_type="application/json")
    assert response.status_code == 422, response.content[:300]
    assert b"already exists" not in response.content
    assert snapshot() == before


@pytest.mark.parametrize("field,value", API_BAD_FIELDS, ids=lambda v: repr(v)[:20])
def test_api_patch_refuses_bad_fields(api, field, value):
    schedule = make_schedule(name="nightly", payload={"message": "go"})
    before = snapshot()
    body = json.dumps({field: value})
    response = api.patch(f"/api/schedules/{schedule.pk}", body, content_type="application/json")
    assert response.status_code == 422, response.content[:300]
    assert snapshot() == before


@pytest.mark.parametrize("payload", BAD_PAYLOAD_TEXTS.values(), ids=BAD_PAYLOAD_TEXTS.keys())
def test_api_retry_with_edits_refuses_bad_payloads(api, failed_run, payload):
    before = snapshot()
    body = with_raw_payload({}, payload)
    url = f"/api/runs/{failed_run.pk}/retry"
    response = api.post(url, body, content_type="application/json")
    assert response.status_code == 422, response.content[:300]
    assert b"retried already" not in response.content
    assert snapshot() == before


def test_a_body_over_the_limit_is_a_json_413_that_says_the_limit(api, settings):
    before = snapshot()
    body = json.dumps(api_body(description="x" * 5_000_000))
    response = api.post("/api/schedules", body, content_type="application/json")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in response.json()["detail"]
    assert snapshot() == before


def test_only_a_real_duplicate_says_already_exists(api):
    make_schedule(name="daily digest")
    response = api.post("/api/schedules", json.dumps(api_body()), content_type="application/json")
    assert response.status_code == 409
    assert "already exists" in response.json()["detail"]


# --- agent tools ------------------------------------------------------------------------

TOOL_CALLS = [
    ("list_schedules", {"limit": "ten"}, "limit"),
    ("list_schedules", {"limit": 0}, "limit"),
    ("get_schedule_runs", {"schedule": "nightly", "limit": "x"}, "limit"),
    ("get_schedule_runs", {"schedule": "nightly", "limit": 10**9}, "limit"),
    ("disable_schedule", {"schedule": "nightly", "reason": "x" * 501}, "reason"),
    ("disable_schedule", {"schedule": "nightly", "reason": "a\x00b"}, "reason"),
    ("create_schedule", {"name": "n", "cron_expr": "* * * * *", "payload_json": DEEP}, "payload"),
    ("create_schedule", {"name": "n", "cron_expr": "* * * * *", "message": "a\x00"}, "payload"),
    ("create_schedule", {"name": "n\x00", "cron_expr": "* * * * *", "message": "go"}, "name"),
    (
        "create_schedule",
        {"name": "n", "cron_expr": "* * * * *", "message": "go", "timeout_s": "ten"},
        "timeout_s",
    ),
    ("get_schedule", {"schedule": "a\x00b"}, None),
    ("get_schedule", {"schedule": "9" * 40}, None),
]


@pytest.mark.parametrize("tool,kwargs,field", TOOL_CALLS, ids=lambda v: repr(v)[:24])
def test_tools_answer_json_naming_the_argument(db, tool, kwargs, field):
    make_schedule(name="nightly")
    before = snapshot()
    answer = json.loads(getattr(SchedulerTools(), tool)(**kwargs))
    assert "error" in answer
    if field:
        assert field in answer.get("fields", {}), answer
    assert snapshot() == before


# --- console: targets and tokens ------------------------------------------------------

BAD_TARGET_FIELDS = [
    ("name", "re\x00mote"),
    ("description", "a\x00b"),
    ("base_url", "http://exa\x00mple.com"),
    ("token_env", "AGENTOS_\x00X"),
    ("connect_timeout_s", "NaN"),
    ("connect_timeout_s", "1e999"),
]


@pytest.mark.parametrize("field,value", BAD_TARGET_FIELDS, ids=lambda v: repr(v)[:20])
def test_target_form_refuses_bad_fields(as_admin, field, value):
    before = list(Target.objects.order_by("pk").values())
    data = {
        "name": "remote",
        "description": "",
        "base_url": "http://127.0.0.1:7777",
        "token_env": "AGENTOS_REMOTE",
        "connect_timeout_s": "5",
        field: value,
    }
    response = as_admin.post(reverse("target_create"), data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert list(Target.objects.order_by("pk").values()) == before


@pytest.mark.parametrize("name", ["to\x00ken", "x" * 101], ids=["nul", "too_long"])
def test_token_form_refuses_bad_names(as_admin, name):
    response = as_admin.post(reverse("api_token_list"), {"name": name})
    assert response.status_code == 400
    assert "name" in response.context["error"].lower() or "NUL" in response.context["error"]
    assert not ApiToken.objects.filter(name__startswith="to").exists()


@pytest.mark.parametrize("value", ["\x00", "9" * 40, "-1", "²", "1e3"])
def test_bulk_actions_ignore_ids_that_cannot_exist(as_admin, failed_run, value):
    before = snapshot()
    for url, field, extra in (
        (reverse("schedule_bulk"), "schedule", {"action": "disable", "confirmed": "yes"}),
        (reverse("run_bulk_retry"), "run", {"confirmed": "yes"}),
    ):
        response = as_admin.post(url, {field: [value], **extra})
        assert response.status_code == 302
    assert snapshot() == before
