"""/api/schedules over HTTP: AgentOS's request bodies, answers, codes and validation."""

import time

import pytest

from scheduler_admin.models import Schedule, ScheduleRun, Trigger
from tests.api.conftest import LIVE
from tests.factories import make_run, make_schedule

pytestmark = LIVE

# The body from AgentOS's own docs, unchanged.
AGENTOS_BODY = {
    "name": "daily-digest",
    "cron_expr": "0 9 * * *",
    "endpoint": "/agents/my-agent/runs",
    "payload": {"message": "Summarise yesterday's tickets"},
    "timezone": "UTC",
}

# Every input AgentOS rejects, the field the answer must name, and a word of its message.
REJECTED = [
    ({"name": "bad name!"}, "name", "letters"),
    ({"cron_expr": "every day at nine"}, "cron_expr", "5 fields"),
    ({"cron_expr": "0 0 9 * * 1"}, "cron_expr", "seconds are not supported"),
    ({"cron_expr": "61 * * * *"}, "cron_expr", "minute field"),
    ({"timezone": "Mars/Olympus"}, "timezone", "IANA"),
    ({"endpoint": "https://evil.example/agents/a/runs"}, "endpoint", "not a full URL"),
    ({"endpoint": "agents/a/runs"}, "endpoint", "starting with /"),
    ({"method": "FETCH"}, "method", "FETCH"),
    ({"timeout_seconds": 0}, "timeout_seconds", "between 1 and 86400"),
    ({"timeout_seconds": 86401}, "timeout_seconds", "between 1 and 86400"),
    ({"max_retries": -1}, "max_retries", ""),
    ({"max_retries": 11}, "max_retries", "between 0 and 10"),
    ({"retry_delay_seconds": 0}, "retry_delay_seconds", "between 1 and 3600"),
    ({"retry_delay_seconds": 3601}, "retry_delay_seconds", "between 1 and 3600"),
    ({"payload": {"message": "a\u0000b"}}, "payload", "NUL"),
    ({"payload": ["not", "an", "object"]}, "payload", "JSON object"),
    ({"payload": "a string"}, "payload", "JSON object"),
    ({"timeout_seconds": "soon"}, "timeout_seconds", "valid integer"),
    ({"enabled": "yes"}, "enabled", "valid boolean"),
    ({"name": None}, "name", "null"),
    ({"colour": "blue"}, "colour", "Unknown field"),
]


def test_agentos_docs_body_creates_a_schedule(admin_api):
    response = admin_api.post("schedules", json=AGENTOS_BODY)
    assert response.status_code == 201, response.text
    body = response.json()
    for key, value in AGENTOS_BODY.items():
        assert body[key] == value
    assert body["method"] == "POST"
    assert (body["timeout_seconds"], body["max_retries"], body["retry_delay_seconds"]) == (
        3600,
        0,
        60,
    )
    assert body["enabled"] is True and body["target"] == "local"
    schedule = Schedule.objects.get(pk=int(body["id"]))
    assert schedule.timeout_s == 3600 and schedule.payload == AGENTOS_BODY["payload"]


def test_times_are_epoch_seconds(admin_api):
    before = int(time.time())
    body = admin_api.post("schedules", json=AGENTOS_BODY).json()
    assert isinstance(body["created_at"], int) and before - 1 <= body["created_at"] <= time.time()
    assert isinstance(body["next_run_at"], int) and body["next_run_at"] > before
    assert body["next_run_at"] % 3600 == 0  # 09:00 UTC on the hour


def test_our_fields_are_accepted_and_returned(admin_api):
    extra = {
        "overlap_policy": "buffer_one",
        "catch_up_policy": "none",
        "retry_backoff": 3.0,
        "pause_after_failures": 5,
        "timeout_seconds": 120,
        "retry_delay_seconds": 30,
        "max_retries": 2,
        "method": "post",
    }
    body = admin_api.post("schedules", json={**AGENTOS_BODY, **extra}).json()
    assert {k: body[k] for k in extra} == {**extra, "method": "POST"}
    schedule = Schedule.objects.get(name="daily-digest")
    assert (schedule.timeout_s, schedule.retry_delay_s, schedule.overlap_policy) == (
        120,
        30,
        "buffer_one",
    )


@pytest.mark.parametrize(("change", "field", "words"), REJECTED)
def test_invalid_input_is_422_naming_the_field_and_saves_nothing(admin_api, change, field, words):
    response = admin_api.post("schedules", json={**AGENTOS_BODY, **change})
    assert response.status_code == 422, response.text
    problems = response.json()["detail"]
    named = [p for p in problems if p["loc"] == ["body", field]]
    assert named, problems
    assert words in " ".join(p["msg"] for p in named)
    assert all(p["type"] for p in problems)
    assert not Schedule.objects.exists()


def test_invalid_patch_is_422_and_changes_nothing(admin_api):
    schedule = make_schedule(
        name="stable", cron_expr="0 9 * * *", endpoint="/agents/a/runs", payload={"message": "m"}
    )
    for change, field, _ in REJECTED:
        response = admin_api.patch(f"schedules/{schedule.pk}", json=change)
        assert response.status_code == 422, (change, response.text)
        assert response.json()["detail"][0]["loc"] == ["body", field]
    schedule.refresh_from_db()
    assert (schedule.name, schedule.cron_expr, schedule.timeout_s) == ("stable", "0 9 * * *", 3600)


@pytest.mark.parametrize(
    "raw",
    [b'{"name": "x", "cron_expr": "0 9 * *', b"not json", b"[1, 2]", b"", b'{"a": NaN}', b"\xff"],
)
def test_malformed_body_is_422_with_a_readable_message(admin_api, raw):
    response = admin_api.post("schedules", data=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    problem = response.json()["detail"][0]
    assert problem["loc"][0] == "body" and len(problem["msg"]) > 10
    assert not Schedule.objects.exists()


def test_duplicate_name_is_409(admin_api):
    assert admin_api.post("schedules", json=AGENTOS_BODY).status_code == 201
    response = admin_api.post("schedules", json=AGENTOS_BODY)
    assert response.status_code == 409
    assert response.json() == {"detail": "Schedule with name 'daily-digest' already exists"}
    other = make_schedule(name="other")
    renamed = admin_api.patch(f"schedules/{other.pk}", json={"name": "daily-digest"})
    assert renamed.status_code == 409
    assert Schedule.objects.count() == 2


def test_get_patch_delete(admin_api):
    schedule_id = admin_api.post("schedules", json=AGENTOS_BODY).json()["id"]
    got = admin_api.get(f"schedules/{schedule_id}")
    assert got.status_code == 200 and got.json()["name"] == "daily-digest"

    patched = admin_api.patch(
        f"schedules/{schedule_id}", json={"cron_expr": "30 7 * * 1-5", "timeout_seconds": 60}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["cron_expr"] == "30 7 * * 1-5"
    assert patched.json()["timeout_seconds"] == 60
    assert patched.json()["payload"] == AGENTOS_BODY["payload"]  # untouched

    deleted = admin_api.delete(f"schedules/{schedule_id}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert admin_api.get(f"schedules/{schedule_id}").status_code == 404


def test_unknown_ids_are_404(admin_api):
    schedule = make_schedule()
    for method, path in [
        ("get", "schedules/999999"),
        ("patch", "schedules/999999"),
        ("delete", "schedules/999999"),
        ("post", "schedules/999999/enable"),
        ("post", "schedules/999999/disable"),
        ("post", "schedules/999999/trigger"),
        ("get", "schedules/999999/runs"),
        ("get", "schedules/not-a-number"),
        ("get", "schedules/99999999999999999999999"),
        ("get", f"schedules/{schedule.pk}/runs/999999"),
    ]:
        response = getattr(admin_api, method)(path, json={})
        assert response.status_code == 404, (method, path)
        assert "not found" in response.json()["detail"]


def test_enable_disable_and_trigger(admin_api):
    schedule = make_schedule()
    off = admin_api.post(f"schedules/{schedule.pk}/disable")
    assert off.status_code == 200
    assert off.json()["enabled"] is False and off.json()["next_run_at"] is None

    refused = admin_api.post(f"schedules/{schedule.pk}/trigger")
    assert refused.status_code == 409
    assert refused.json() == {"detail": "Schedule is disabled"}
    assert not ScheduleRun.objects.exists()

    on = admin_api.post(f"schedules/{schedule.pk}/enable")
    assert on.json()["enabled"] is True and on.json()["next_run_at"] > time.time()
    triggered = admin_api.post(f"schedules/{schedule.pk}/trigger")
    assert triggered.status_code == 200
    run = triggered.json()
    assert run["schedule_id"] == str(schedule.pk) and run["status"] == "queued"
    assert run["trigger"] == Trigger.MANUAL and run["attempt"] == 1
    assert ScheduleRun.objects.get(pk=int(run["id"])).trigger == Trigger.MANUAL


def test_list_shape_and_paging(admin_api):
    for i in range(5):
        make_schedule(name=f"s{i}", enabled=i != 0)
    first = admin_api.get("schedules", params={"limit": 2}).json()
    assert first["meta"].pop("search_time_ms") >= 0  # AgentOS's meta has it too
    assert first["meta"] == {"page": 1, "limit": 2, "total_pages": 3, "total_count": 5}
    assert [s["name"] for s in first["data"]] == ["s0", "s1"]
    last = admin_api.get("schedules", params={"limit": 2, "page": 3}).json()
    assert [s["name"] for s in last["data"]] == ["s4"]
    beyond = admin_api.get("schedules", params={"limit": 2, "page": 9}).json()
    assert beyond["data"] == [] and beyond["meta"]["total_count"] == 5
    enabled = admin_api.get("schedules", params={"enabled": "true"}).json()
    assert enabled["meta"]["total_count"] == 4
    assert enabled["meta"]["limit"] == 100  # AgentOS's default


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"page": 0}, {"limit": "x"}])
def test_paging_out_of_agentos_limits_is_422(admin_api, params):
    response = admin_api.get("schedules", params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", next(iter(params))]


def test_schedule_runs_list_and_detail(admin_api):
    schedule, other = make_schedule(), make_schedule()
    runs = [make_run(schedule, attempt=1, scheduled_for=_at(h)) for h in range(3)]
    foreign = make_run(other)
    listed = admin_api.get(f"schedules/{schedule.pk}/runs", params={"limit": 2}).json()
    assert [r["id"] for r in listed["data"]] == [str(runs[2].pk), str(runs[1].pk)]
    assert listed["meta"].pop("search_time_ms") >= 0
    assert listed["meta"] == {"page": 1, "limit": 2, "total_pages": 2, "total_count": 3}
    one = admin_api.get(f"schedules/{schedule.pk}/runs/{runs[0].pk}").json()
    expected = {"id", "schedule_id", "attempt", "triggered_at", "completed_at", "status"}
    expected |= {"status_code", "run_id", "session_id", "error", "input", "output"}
    expected |= {"requirements", "created_at", "scheduled_for", "trigger", "duration_ms"}
    expected |= {"retry_of", "missed_count"}
    assert expected <= one.keys()
    assert one["scheduled_for"] == int(_at(0).timestamp())
    # A run of another schedule is not found under this one.
    assert admin_api.get(f"schedules/{schedule.pk}/runs/{foreign.pk}").status_code == 404


def _at(hour: int):
    from datetime import UTC, datetime

    return datetime(2026, 1, 1, hour, tzinfo=UTC)


def test_a_runs_endpoint_without_a_message_is_accepted_as_agentos_does(admin_api):
    body = {**AGENTOS_BODY, "payload": {"text": "no message"}}
    response = admin_api.post("schedules", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["payload"] == {"text": "no message"}
