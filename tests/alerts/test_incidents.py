"""Incidents and the outbox, step by step: one alert per incident and channel, repeats
folded, overrides, reminders, and nothing lost across a restart."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from agentos_bridge.outcome import Outcome
from scheduler_admin.alerts import delivery, incidents, monitor
from scheduler_admin.engine.outcomes import record_outcome
from scheduler_admin.models import (
    AlertEvent,
    Incident,
    Notification,
    RunStatus,
    Schedule,
    ScheduleAlertRule,
)
from scheduler_admin.models.alerts import IncidentKind, IncidentStatus
from tests.factories import make_channel, make_run, make_schedule, make_user

pytestmark = pytest.mark.django_db


def close(schedule, status: str = "failed", retryable: bool = False, **run_fields):
    """A running run of ``schedule`` closed through the engine with this outcome; its
    events are processed (the engine's transaction committed long ago in real life)."""
    run = make_run(
        schedule,
        status=RunStatus.RUNNING,
        worker="w",
        started_at=timezone.now(),
        scheduled_for=timezone.now() + timedelta(seconds=AlertEvent.objects.count()),
        **run_fields,
    )
    if status == "success":
        outcome = Outcome(status="success", status_code=200)
    else:
        outcome = Outcome.failure("agent says no", retryable=retryable, status_code=500)
    record_outcome(run, outcome, worker="w")
    incidents.process_pending()
    return run


def test_an_event_is_written_with_the_run_and_processed_once():
    schedule = make_schedule()
    close(schedule)
    event = AlertEvent.objects.get()
    assert event.processed_at is not None and event.consecutive_failures == 1
    assert incidents.process_event(event.pk) is False  # a second delivery does nothing


def test_repeats_fold_into_the_open_incident_with_a_count():
    channel = make_channel("webhook", url="http://127.0.0.1:9/hook")
    schedule = make_schedule()
    for _ in range(3):
        close(schedule)
    incident = Incident.objects.get()
    assert incident.count == 3 and incident.runs.count() == 3
    assert Notification.objects.filter(channel=channel).count() == 1


def test_a_non_final_attempt_raises_nothing():
    schedule = make_schedule(max_retries=1)
    close(schedule, retryable=True)
    assert not Incident.objects.exists()


def test_a_per_schedule_threshold_waits_for_n_consecutive_failed_firings():
    schedule = make_schedule()
    ScheduleAlertRule.objects.create(schedule=schedule, failure_threshold=3)
    close(schedule)
    close(schedule)
    assert not Incident.objects.exists()
    close(schedule)
    incident = Incident.objects.get()
    assert "3 failed firings in a row" in incident.summary


def test_a_muted_schedule_opens_its_incident_but_tells_nobody():
    make_channel("webhook", url="http://127.0.0.1:9/hook")
    schedule = make_schedule()
    ScheduleAlertRule.objects.create(schedule=schedule, muted=True)
    close(schedule)
    assert Incident.objects.exists() and not Notification.objects.exists()


def test_a_rule_with_channels_tells_only_those():
    chosen = make_channel("webhook", url="http://127.0.0.1:9/a")
    make_channel("webhook", url="http://127.0.0.1:9/b")
    schedule = make_schedule()
    rule = ScheduleAlertRule.objects.create(schedule=schedule)
    rule.channels.add(chosen)
    close(schedule)
    assert list(Notification.objects.values_list("channel", flat=True)) == [chosen.pk]


def test_a_channel_hears_only_the_kinds_it_subscribed_to():
    make_channel("webhook", url="http://127.0.0.1:9/a", kinds=["scheduler_silent"])
    close(make_schedule())
    assert Incident.objects.exists() and not Notification.objects.exists()


def test_a_schedule_paused_by_policy_opens_a_paused_incident_resolved_when_enabled():
    make_channel("webhook", url="http://127.0.0.1:9/a")
    schedule = make_schedule(pause_after_failures=2)
    close(schedule)
    close(schedule)
    paused = Incident.objects.get(kind=IncidentKind.PAUSED)
    assert "Paused after 2 consecutive failures" in paused.summary
    Schedule.objects.filter(pk=schedule.pk).update(enabled=True, paused_reason="")
    monitor.resolve_stale(timezone.now())
    paused.refresh_from_db()
    assert paused.resolution == "The schedule was enabled again."
    assert Notification.objects.filter(incident=paused, event="resolved").count() == 1


def test_recovery_resolves_and_tells_only_the_channels_told_of_the_opening():
    told = make_channel("webhook", url="http://127.0.0.1:9/a")
    schedule = make_schedule()
    close(schedule)
    make_channel("webhook", url="http://127.0.0.1:9/b")  # added later: never heard of it
    close(schedule, status="success")
    resolved = Notification.objects.get(event="resolved")
    assert resolved.channel == told
    assert Incident.objects.get().status == IncidentStatus.RESOLVED


def test_resolving_twice_notifies_once():
    make_channel("webhook", url="http://127.0.0.1:9/a")
    close(make_schedule())
    incident = Incident.objects.get()
    now = timezone.now()
    assert incidents.resolve(incident, now, note="one")
    assert incidents.resolve(incident, now, note="two") == []
    assert Notification.objects.filter(event="resolved").count() == 1


def test_a_notification_delivered_twice_is_sent_once(receiver):
    make_channel("webhook", url=f"{receiver.url}/hook")
    close(make_schedule())
    pk = Notification.objects.get().pk
    assert delivery.deliver(pk) == "sent"
    assert delivery.deliver(pk) is None
    assert len(receiver.calls("/hook")) == 1


def test_a_restart_loses_nothing_pending_rows_are_sent_by_the_sweep(receiver):
    """The worker died before its task ran (or the broker lost it): the row stays
    pending and the monitor's sweep sends it once its hand-over time has passed."""
    make_channel("webhook", url=f"{receiver.url}/hook")
    close(make_schedule())
    notification = Notification.objects.get()
    assert delivery.sweep(timezone.now()) == []  # just handed to the broker: wait
    with time_machine.travel(timezone.now() + timedelta(seconds=delivery.HANDED_FOR_S + 1)):
        assert delivery.sweep(timezone.now()) == [notification.pk]
        assert delivery.deliver(notification.pk) == "sent"


def test_a_worker_that_died_while_sending_is_taken_over_after_its_lease(receiver):
    make_channel("webhook", url=f"{receiver.url}/hook")
    close(make_schedule())
    notification = Notification.objects.get()
    Notification.objects.filter(pk=notification.pk).update(
        status="sending", lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    delivery.sweep(timezone.now())
    with time_machine.travel(timezone.now() + timedelta(seconds=delivery.HANDED_FOR_S + 1)):
        assert delivery.sweep(timezone.now()) == [notification.pk]
        assert delivery.deliver(notification.pk) == "sent"


def test_events_whose_task_was_lost_are_processed_by_the_monitor():
    schedule = make_schedule()
    run = make_run(schedule, status=RunStatus.RUNNING, worker="w", started_at=timezone.now())
    record_outcome(run, Outcome.failure("x", retryable=False), worker="w")
    assert not Incident.objects.exists()  # nobody processed the event yet
    assert monitor.tick(timezone.now()) == {}
    assert Incident.objects.exists()


def test_retries_back_off_then_give_up_after_max_attempts(receiver, settings):
    settings.ALERTS = {**settings.ALERTS, "MAX_ATTEMPTS": 3}
    receiver.status["/hook"] = 503
    make_channel("webhook", url=f"{receiver.url}/hook")
    close(make_schedule())
    pk = Notification.objects.get().pk
    delays = []
    for _ in range(3):
        row = Notification.objects.get(pk=pk)
        with time_machine.travel(row.next_attempt_at + timedelta(milliseconds=1)):
            status = delivery.deliver(pk)
            after = Notification.objects.get(pk=pk)
            delays.append(round((after.next_attempt_at - timezone.now()).total_seconds()))
    assert status == "failed"
    assert delays[:2] == [5, 30]
    assert Notification.objects.get(pk=pk).delivery_attempts.count() == 3


def test_reminders_repeat_every_n_hours_while_open_and_stop_once_acknowledged():
    channel = make_channel("webhook", url="http://127.0.0.1:9/a", remind_every_h=2)
    close(make_schedule())
    start = timezone.now()
    monitor.send_reminders(start + timedelta(hours=1))
    assert not Notification.objects.filter(event="reminder").exists()
    monitor.send_reminders(start + timedelta(hours=2, minutes=1))
    monitor.send_reminders(start + timedelta(hours=2, minutes=2))
    assert Notification.objects.filter(event="reminder", channel=channel).count() == 1
    incidents.acknowledge(Incident.objects.get(), make_user("operator"))
    monitor.send_reminders(start + timedelta(hours=9))
    assert Notification.objects.filter(event="reminder").count() == 1


def test_a_healthy_schedules_success_writes_nothing():
    close(make_schedule(), status="success")
    assert not AlertEvent.objects.exists()


def test_a_target_incident_is_resolved_by_any_success_on_that_server():
    from scheduler_admin.models import Target

    down = Target.objects.create(name="peer", base_url="http://127.0.0.1:9/")
    failing = make_schedule(target=down, endpoint="/agents/a/runs", payload={"message": "m"})
    healthy = make_schedule(target=down, endpoint="/agents/b/runs", payload={"message": "m"})
    run = make_run(failing, status=RunStatus.RUNNING, worker="w", started_at=timezone.now())
    record_outcome(
        run,
        Outcome.failure("Connection refused: nothing is listening", retryable=False),
        worker="w",
    )
    incidents.process_pending()
    incident = Incident.objects.get(kind=IncidentKind.TARGET_DOWN)
    close(healthy, status="success")  # no event: that schedule was never failing
    monitor.resolve_stale(timezone.now())
    incident.refresh_from_db()
    assert incident.resolved_at is not None and "succeeded" in incident.resolution
