"""Edges found in review: stale edits, conflicting rows, held runs, re-sends, odd input."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from agentos_bridge.tools import SchedulerTools
from scheduler_admin.engine.dispatch import redispatch_lost
from scheduler_admin.engine.firing import fire_due
from scheduler_admin.engine.loop import seconds_until_next_wake
from scheduler_admin.engine.operations import create_schedule, trigger_now, update_schedule
from scheduler_admin.engine.outcomes import retry_delay_s
from scheduler_admin.models import AuditEntry, RunStatus, Schedule, ScheduleRun
from tests.factories import make_run, make_schedule, make_user

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_an_edit_from_a_stale_copy_keeps_what_the_scheduler_wrote_meanwhile():
    stale = make_schedule(cron_expr="*/5 * * * *")
    Schedule.objects.filter(pk=stale.pk).update(
        next_run_at=T0, enabled=False, paused_reason="Paused after 3 consecutive failures"
    )
    update_schedule(stale, {"description": "edited"})
    fresh = Schedule.objects.get(pk=stale.pk)
    assert fresh.description == "edited"
    assert (fresh.next_run_at, fresh.enabled) == (T0, False)
    assert fresh.paused_reason.startswith("Paused after 3")


def test_a_time_that_already_has_a_run_does_not_stop_the_rest_of_the_batch():
    clash, other = make_schedule(), make_schedule()
    Schedule.objects.filter(pk__in=[clash.pk, other.pk]).update(next_run_at=T0)
    make_run(clash, scheduled_for=T0, status=RunStatus.SUCCESS)
    fired = fire_due(T0 + timedelta(seconds=1))
    assert ScheduleRun.objects.get(pk__in=fired).schedule == other
    assert ScheduleRun.objects.filter(schedule=clash).count() == 1
    assert Schedule.objects.get(pk=clash.pk).next_run_at == T0 + timedelta(minutes=5)


def test_a_held_buffered_run_does_not_make_the_scheduler_spin():
    schedule = make_schedule(overlap_policy="buffer_one")
    Schedule.objects.filter(pk=schedule.pk).update(next_run_at=T0 + timedelta(hours=1))
    make_run(schedule, status=RunStatus.RUNNING, scheduled_for=T0 - timedelta(minutes=5))
    make_run(schedule, held_for_overlap=True, not_before=T0 - timedelta(minutes=1))
    assert seconds_until_next_wake(T0, poll_s=1.0) == 1.0


def test_two_manual_triggers_in_one_second_have_different_idempotency_keys():
    schedule = make_schedule()
    first, second = trigger_now(schedule), trigger_now(schedule)
    assert first.idempotency_key != second.idempotency_key


def test_a_run_never_started_is_sent_again_with_growing_waits(settings):
    settings.SCHEDULER = {**settings.SCHEDULER, "REDISPATCH_AFTER_S": 60}
    run = make_run(make_schedule(), dispatched_at=T0)
    assert redispatch_lost(T0 + timedelta(seconds=59)) == []
    assert redispatch_lost(T0 + timedelta(seconds=61)) == [run.pk]
    resent_at = T0 + timedelta(seconds=61)
    assert redispatch_lost(resent_at + timedelta(seconds=61)) == []  # now waits 120 s
    assert redispatch_lost(resent_at + timedelta(seconds=121)) == [run.pk]
    assert ScheduleRun.objects.get(pk=run.pk).dispatch_count == 2


def test_a_cron_that_never_fires_in_its_timezone_is_refused():
    # Every match is 01:xx on the last Sunday of March: London's DST gap, which a
    # wildcard-minute job skips.
    with pytest.raises(ValidationError) as error:
        create_schedule(
            {
                "name": "never",
                "endpoint": "/noop",
                "cron_expr": "* 1 * 3 0L",
                "timezone": "Europe/London",
            }
        )
    assert "never fires in Europe/London" in " ".join(error.value.message_dict["cron_expr"])


def test_catch_up_all_with_every_missed_time_outside_the_window_records_them(settings):
    settings.SCHEDULER = {**settings.SCHEDULER, "CATCH_UP_WINDOW_S": 60}
    schedule = make_schedule(catch_up_policy="all", cron_expr="*/5 * * * *")
    Schedule.objects.filter(pk=schedule.pk).update(next_run_at=T0)
    assert fire_due(T0 + timedelta(minutes=7)) == []
    skipped = ScheduleRun.objects.get()
    assert (skipped.status, skipped.missed_count) == (RunStatus.SKIPPED, 2)


def test_a_huge_retry_after_is_capped_at_a_day():
    schedule = make_schedule(retry_delay_s=10)
    assert retry_delay_s(schedule, 1, retry_after_s=float("inf")) < 12
    assert retry_delay_s(schedule, 1, retry_after_s=1e12) == 86400


def test_agent_tools_act_with_their_users_role():
    tools = SchedulerTools(endpoint="/noop", user=make_user("viewer"))
    answer = json.loads(tools.create_schedule(name="by a viewer", cron_expr="0 9 * * *"))
    assert "does not allow: create" in answer["error"]
    assert not Schedule.objects.exists()
    assert "data" in json.loads(tools.list_schedules())


def test_editing_in_the_django_admin_goes_through_the_engine(client):
    admin = make_user("admin")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    schedule = make_schedule(cron_expr="0 9 * * *")
    form = {
        "name": schedule.name,
        "description": "",
        "target": schedule.target_id,
        "endpoint": "/noop",
        "method": "POST",
        "payload": "{}",
        "cron_expr": "0 10 * * *",
        "timezone": "UTC",
        "timeout_s": 3600,
        "max_retries": 0,
        "retry_delay_s": 60,
        "retry_backoff": 2.0,
        "enabled": "on",
        "overlap_policy": "skip",
        "catch_up_policy": "latest",
        "pause_after_failures": "",
        "pause_timeout_s": "",
        "pause_timeout_action": "reject",
    }
    response = client.post(f"/admin/scheduler_admin/schedule/{schedule.pk}/change/", form)
    assert response.status_code == 302, response.content[:2000]
    schedule.refresh_from_db()
    assert schedule.next_run_at.astimezone(UTC).hour == 10
    entry = AuditEntry.objects.get(action="updated")
    assert entry.changes == {"cron_expr": ["0 9 * * *", "0 10 * * *"]}
    assert timezone.now() < schedule.next_run_at


@pytest.mark.parametrize("name", ["SECRET_KEY", "DATABASE_URL", "agentos_lower", "AGENTOS_"])
def test_a_target_token_must_come_from_an_agentos_variable(name):
    from scheduler_admin.models import Target

    with pytest.raises(ValidationError) as error:
        Target(name="evil", base_url="https://example.com", token_env=name).full_clean()
    assert "starts with AGENTOS_" in " ".join(error.value.message_dict["token_env"])


def test_an_outcome_the_database_cannot_take_as_is_is_stored_cleaned():
    from agentos_bridge.outcome import Outcome
    from scheduler_admin.engine.outcomes import record_outcome

    run = make_run(make_schedule(), status=RunStatus.RUNNING, worker="w")
    outcome = Outcome(status="success", output={"when": T0, "text": "a\x00b"}, error="")
    assert record_outcome(run, outcome, worker="w") is True
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCESS
    assert run.output == {"when": str(T0), "text": "ab"}


def test_a_bridge_exception_is_recorded_by_type_without_its_text(monkeypatch):
    import agentos_bridge
    from scheduler_admin.engine.execution import execute_run

    def explode(request):
        raise UnicodeEncodeError("latin-1", "Bearer sécret", 8, 9, "ordinal not in range")

    monkeypatch.setattr(agentos_bridge, "execute", explode)
    run = make_run(make_schedule())
    assert execute_run(run.pk) == "failed"
    run.refresh_from_db()
    assert run.error == "Internal error in the bridge: UnicodeEncodeError"
    assert "sécret" not in run.error


def test_a_schedule_with_no_further_fire_time_is_disabled_with_the_reason(monkeypatch):
    # No real cron runs out inside the validation horizon, so end the sequence here.
    from scheduler_admin import cron

    schedule = make_schedule(cron_expr="0 12 1 6 *")
    Schedule.objects.filter(pk=schedule.pk).update(next_run_at=T0)
    monkeypatch.setattr(cron, "fire_times", lambda expr, tz, after: iter(()))
    fire_due(T0 + timedelta(seconds=1))
    schedule.refresh_from_db()
    assert not schedule.enabled and schedule.next_run_at is None
    assert "no further fire times" in schedule.paused_reason
    assert ScheduleRun.objects.get(schedule=schedule).scheduled_for == T0


def test_a_target_connect_timeout_must_be_sane():
    from scheduler_admin.models import Target

    with pytest.raises(ValidationError) as error:
        Target(name="t", base_url="https://x.example", connect_timeout_s=0).full_clean()
    assert "between 0.1 and 60" in " ".join(error.value.message_dict["connect_timeout_s"])
