"""Operations the UI, API, tools and code call: validation, enable/disable, trigger, retry."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from scheduler_admin.engine.operations import (
    RunNotRetryable,
    ScheduleDisabled,
    create_schedule,
    retry_run,
    set_enabled,
    trigger_now,
    update_schedule,
)
from scheduler_admin.engine.registry import register, sync_code_schedules
from scheduler_admin.models import AuditEntry, RunStatus, Schedule, ScheduleRun, Trigger
from tests.factories import make_run, make_schedule, make_user

pytestmark = pytest.mark.django_db

VALID = {"name": "daily digest", "endpoint": "/noop", "cron_expr": "0 9 * * *"}

BAD_INPUT = [
    ({"cron_expr": "0 9 * *"}, "cron_expr", "5 fields"),
    ({"cron_expr": "0 0 9 * * 1"}, "cron_expr", "seconds are not supported"),
    ({"cron_expr": "61 * * * *"}, "cron_expr", "The minute field '61' is not valid"),
    ({"cron_expr": "0 0 31 2 *"}, "cron_expr", "never fires"),
    ({"timezone": "Mars/Olympus"}, "timezone", "Unknown timezone"),
    ({"payload": ["not", "an", "object"]}, "payload", "JSON object"),
    ({"endpoint": "https://agents.example.com/runs"}, "endpoint", "not a full URL"),
    ({"endpoint": "agents/x/runs"}, "endpoint", "starting with /"),
    ({"endpoint": "/agents/x\x07/runs"}, "endpoint", "control characters"),
    ({"method": "FETCH"}, "method", "not a valid choice"),
    ({"timeout_s": 0}, "timeout_s", "between 1 and 86400"),
    ({"timeout_s": 86401}, "timeout_s", "between 1 and 86400"),
    ({"max_retries": 11}, "max_retries", "between 0 and 10"),
    ({"retry_delay_s": 3601}, "retry_delay_s", "between 1 and 3600"),
    ({"name": "-leading dash"}, "name", "starting with a letter or digit"),
    ({"target": "nowhere"}, "target", "Unknown target"),
    ({"colour": "blue"}, "colour", "Unknown field"),
]


@pytest.mark.parametrize("change, field, message", BAD_INPUT)
def test_bad_input_gets_a_clear_error_and_saves_nothing(change, field, message):
    with pytest.raises(ValidationError) as error:
        create_schedule({**VALID, **change})
    assert message in " ".join(error.value.message_dict[field])
    assert not Schedule.objects.exists()


def test_duplicate_names_are_refused():
    create_schedule(VALID)
    with pytest.raises(ValidationError) as error:
        create_schedule(VALID)
    assert "already exists" in " ".join(error.value.message_dict["name"])


def test_a_new_schedule_gets_its_next_run_time_in_its_timezone():
    schedule = create_schedule({**VALID, "timezone": "Asia/Kolkata"})
    local = schedule.next_run_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Kolkata"))
    assert (local.hour, local.minute) == (9, 0)
    assert schedule.target.name == "local"


def test_an_invalid_update_changes_nothing():
    schedule = create_schedule(VALID)
    with pytest.raises(ValidationError):
        update_schedule(schedule, {"cron_expr": "nope", "description": "changed"})
    fresh = Schedule.objects.get(pk=schedule.pk)
    assert (fresh.cron_expr, fresh.description) == ("0 9 * * *", "")
    assert schedule.cron_expr == "0 9 * * *"


def test_an_update_is_audited_with_a_diff():
    admin = make_user("admin")
    schedule = create_schedule(VALID)
    update_schedule(schedule, {"cron_expr": "0 10 * * *"}, user=admin)
    entry = AuditEntry.objects.filter(action="updated").get()
    assert entry.changes == {"cron_expr": ["0 9 * * *", "0 10 * * *"]}
    assert entry.actor == admin


def test_disable_with_a_reason_then_enable_clears_it():
    schedule = create_schedule(VALID)
    set_enabled(schedule, False, reason="maintenance")
    schedule.refresh_from_db()
    assert (schedule.enabled, schedule.paused_reason, schedule.next_run_at) == (
        False,
        "maintenance",
        None,
    )
    set_enabled(schedule, True)
    schedule.refresh_from_db()
    assert schedule.enabled and schedule.paused_reason == "" and schedule.next_run_at


def test_trigger_now_queues_a_manual_run_and_refuses_a_disabled_schedule():
    schedule = create_schedule(VALID)
    run = trigger_now(schedule)
    assert (run.trigger, run.status) == (Trigger.MANUAL, RunStatus.QUEUED)
    set_enabled(schedule, False)
    with pytest.raises(ScheduleDisabled):
        trigger_now(schedule)


def test_retry_creates_a_linked_attempt_with_an_edited_payload():
    schedule = make_schedule(endpoint="/echo", payload={"message": "a"})
    failed = make_run(
        schedule, status=RunStatus.FAILED, scheduled_for=datetime(2026, 1, 1, tzinfo=UTC)
    )
    retry = retry_run(failed, payload={"message": "b"})
    assert (retry.retry_of, retry.attempt, retry.input) == (failed, 2, {"message": "b"})
    assert retry.scheduled_for == failed.scheduled_for
    with pytest.raises(RunNotRetryable):
        retry_run(failed)  # already retried: retry the latest attempt instead
    assert ScheduleRun.objects.filter(retry_of=failed).count() == 1


def test_a_successful_run_cannot_be_retried():
    run = make_run(make_schedule(), status=RunStatus.SUCCESS)
    with pytest.raises(RunNotRetryable):
        retry_run(run)


def test_code_registered_schedules_are_upserted_idempotently_and_marked(monkeypatch):
    from scheduler_admin.engine import registry

    monkeypatch.setattr(registry, "_registered", {})
    with override_settings(CODE_SCHEDULES=[{**VALID, "name": "nightly cleanup"}]):
        register("hourly sync", endpoint="/noop", cron_expr="0 * * * *")
        assert sync_code_schedules() == {"created": 2, "updated": 0, "unchanged": 0}
        assert sync_code_schedules() == {"created": 0, "updated": 0, "unchanged": 2}
        register("hourly sync", endpoint="/noop", cron_expr="30 * * * *")
        assert sync_code_schedules() == {"created": 0, "updated": 1, "unchanged": 1}
    assert set(Schedule.objects.filter(code_managed=True).values_list("name", flat=True)) == {
        "nightly cleanup",
        "hourly sync",
    }
