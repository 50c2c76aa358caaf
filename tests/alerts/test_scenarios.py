"""End to end through the real engine: runs executed by execute_run on the built-in
runtime (or against a port where nothing listens), their outcomes recorded by the
engine, events processed, and notifications delivered to real receivers."""

from datetime import timedelta

import pytest
import time_machine
from agno.workflow import Step, Workflow
from agno.workflow.types import StepInput, StepOutput
from django.utils import timezone

from agentos_bridge.runtime.registry import register, unregister
from scheduler_admin.alerts import delivery, monitor
from scheduler_admin.engine.execution import execute_run
from scheduler_admin.engine.firing import fire_due
from scheduler_admin.models import (
    Incident,
    IncidentKind,
    Notification,
    RunStatus,
    Schedule,
    ScheduleRun,
    Target,
)
from tests.factories import make_channel, make_run, make_schedule

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("alerts_inline")]

# How the probe agent behaves, per schedule name: how many attempts fail first.
FAILURES: dict[str, int] = {}
ATTEMPTS: dict[str, int] = {}


def probe_step(step_input: StepInput) -> StepOutput:
    name = str(step_input.input)
    ATTEMPTS[name] = ATTEMPTS.get(name, 0) + 1
    if ATTEMPTS[name] <= FAILURES.get(name, 0):
        raise RuntimeError(f"probe failure {ATTEMPTS[name]} for {name}")
    return StepOutput(content="fine")


@pytest.fixture(autouse=True)
def probe():
    register(
        Workflow(
            id="probe", name="Probe", steps=[Step(name="probe", executor=probe_step, max_retries=0)]
        )
    )
    FAILURES.clear()
    ATTEMPTS.clear()
    yield
    unregister("probe")


def probe_schedule(name: str, failures: int, **overrides):
    FAILURES[name] = failures
    return make_schedule(
        name=name, endpoint="/workflows/probe/runs", payload={"message": name}, **overrides
    )


def fire(schedule, minute: int = 0) -> list[ScheduleRun]:
    """One firing and every retry it leads to, executed in turn (retries at once,
    without their delay). Returns the attempts."""
    when = timezone.now().replace(second=0, microsecond=0) + timedelta(minutes=minute)
    run = make_run(schedule, scheduled_for=when)
    attempts = []
    while run is not None:
        execute_run(run.pk)
        run.refresh_from_db()
        attempts.append(run)
        run = ScheduleRun.objects.filter(retry_of=run).first()
    return attempts


def test_a_flaky_schedule_that_recovers_on_its_second_attempt_sends_nothing(receiver):
    make_channel("webhook", url=f"{receiver.url}/hook")
    schedule = probe_schedule("flaky", failures=1, max_retries=2)
    attempts = fire(schedule)
    assert [a.status for a in attempts] == [RunStatus.FAILED, RunStatus.SUCCESS]
    assert not Incident.objects.exists()
    assert receiver.requests == []


def test_failing_every_attempt_alerts_once_and_resolves_once_on_the_next_success(receiver):
    make_channel("webhook", url=f"{receiver.url}/hook")
    schedule = probe_schedule("broken", failures=6, max_retries=2)
    assert [a.status for a in fire(schedule, 0)] == [RunStatus.FAILED] * 3
    assert [a.status for a in fire(schedule, 1)] == [RunStatus.FAILED] * 3
    FAILURES["broken"] = 0
    assert [a.status for a in fire(schedule, 2)] == [RunStatus.SUCCESS]

    bodies = [r.json() for r in receiver.calls("/hook")]
    assert [b["type"] for b in bodies] == ["incident.opened", "incident.resolved"]
    opened = bodies[0]["data"]
    assert opened["schedule"]["name"] == "broken"
    assert opened["run"]["attempt"] == 3 and opened["run"]["attempts_allowed"] == 3
    assert "probe failure 3" in opened["run"]["error"]
    assert opened["run"]["url"].endswith(f"/runs/{opened['run']['id']}/")
    incident = Incident.objects.get()
    assert incident.kind == IncidentKind.FAILING and incident.count == 2
    assert incident.resolved_at is not None
    assert "succeeded after 2 failed firings" in incident.resolution


def test_three_hundred_schedules_on_an_unreachable_target_open_one_incident(receiver, settings):
    settings.SCHEDULER = {**settings.SCHEDULER, "LEASE_S": 30}
    first = make_channel("webhook", url=f"{receiver.url}/one")
    second = make_channel("slack", url=f"{receiver.url}/two")
    # A port nothing listens on: every run fails with "Connection refused".
    down = Target.objects.create(name="peer", base_url="http://127.0.0.1:9/")
    # Each is also paused by its failure policy: the pauses fold in too.
    schedules = [
        make_schedule(
            target=down, endpoint="/agents/a/runs", payload={"message": "m"}, pause_after_failures=1
        )
        for _ in range(300)
    ]
    for schedule in schedules:
        fire(schedule)

    incident = Incident.objects.get()
    assert incident.kind == IncidentKind.TARGET_DOWN and incident.target == down
    assert incident.affected_schedules == 300
    assert incident.count == 600  # a failure and a pause per schedule
    assert Schedule.objects.filter(enabled=False).count() == 300
    assert len(receiver.calls("/one")) == 1 and len(receiver.calls("/two")) == 1
    assert Notification.objects.filter(channel__in=[first, second]).count() == 2
    assert "Connection refused" in receiver.calls("/one")[0].json()["data"]["run"]["error"]


def test_a_channel_answering_500_is_retried_and_logged_while_the_others_deliver(receiver):
    receiver.status["/broken"] = 500
    broken = make_channel("webhook", url=f"{receiver.url}/broken")
    working = make_channel("webhook", url=f"{receiver.url}/working")
    fire(probe_schedule("failing", failures=1))

    assert len(receiver.calls("/working")) == 1
    failed = Notification.objects.get(channel=broken)
    assert failed.status == "pending" and failed.attempts == 1
    attempt = failed.delivery_attempts.get()
    assert attempt.status_code == 500 and attempt.error == "HTTP 500"
    assert attempt.reply == "receiver says no"
    assert Notification.objects.get(channel=working).status == "sent"

    # Its back-off passes; the receiver has recovered; the sweep sends it again.
    receiver.status["/broken"] = 200
    with time_machine.travel(failed.next_attempt_at + timedelta(seconds=1)):
        assert delivery.sweep(timezone.now()) == [failed.pk]
    failed.refresh_from_db()
    assert failed.status == "sent" and failed.attempts == 2
    assert len(receiver.calls("/broken")) == 2


def test_all_schedulers_dead_alerts_scheduler_silent_and_resolves_when_one_fires(
    receiver, settings
):
    settings.ALERTS = {**settings.ALERTS, "LATE_AFTER_S": 60}
    make_channel("webhook", url=f"{receiver.url}/hook")
    schedule = make_schedule()
    start = timezone.now()
    Schedule.objects.filter(pk=schedule.pk).update(next_run_at=start)
    with time_machine.travel(start + timedelta(seconds=30)):
        monitor.check_scheduler(timezone.now())  # 30 s past due: not late yet
    assert receiver.requests == []

    # Nobody fired it: past ALERT_LATE_AFTER_S, the monitor (its own process) speaks up,
    # once however many ticks see it.
    for after_s in (61, 66, 71):
        with time_machine.travel(start + timedelta(seconds=after_s)):
            monitor.check_scheduler(timezone.now())
    [opened] = receiver.calls("/hook")
    assert opened.json()["data"]["incident"]["kind"] == "scheduler_silent"
    assert "1 enabled schedule not fired" in opened.json()["data"]["incident"]["summary"]

    # A scheduler starts and fires it: next_run_at moves on.
    with time_machine.travel(start + timedelta(seconds=75)):
        fire_due(timezone.now())
        monitor.check_scheduler(timezone.now())
    assert [r.json()["type"] for r in receiver.calls("/hook")] == [
        "incident.opened",
        "incident.resolved",
    ]


def test_runs_queued_past_due_without_their_request_leaving_are_late(receiver, settings):
    settings.ALERTS = {**settings.ALERTS, "LATE_AFTER_S": 60}
    make_channel("webhook", url=f"{receiver.url}/hook")
    run = make_run(make_schedule(), not_before=timezone.now() - timedelta(seconds=90))
    monitor.check_late(timezone.now())
    incident = Incident.objects.get(kind=IncidentKind.LATE)
    assert "1 queued run past due" in incident.summary
    execute_run(run.pk)
    monitor.check_late(timezone.now())
    incident.refresh_from_db()
    assert incident.resolved_at is not None
    assert len(receiver.calls("/hook")) == 2


def test_a_scheduler_heartbeat_gone_quiet_is_silent_even_with_nothing_due(receiver, settings):
    from scheduler_admin.models import Heartbeat

    settings.ALERTS = {**settings.ALERTS, "LATE_AFTER_S": 60}
    make_channel("webhook", url=f"{receiver.url}/hook")
    now = timezone.now()
    Heartbeat.objects.create(name="scheduler", beat_at=now - timedelta(seconds=10))
    monitor.check_scheduler(now)  # ticked 10 s ago: fine
    assert receiver.requests == []
    Heartbeat.objects.filter(name="scheduler").update(beat_at=now - timedelta(seconds=90))
    monitor.check_scheduler(now)
    [opened] = receiver.calls("/hook")
    assert "No scheduler has ticked for 90 s" in opened.json()["data"]["incident"]["summary"]
    Heartbeat.objects.filter(name="scheduler").update(beat_at=now)
    monitor.check_scheduler(now)
    assert [r.json()["type"] for r in receiver.calls("/hook")] == [
        "incident.opened",
        "incident.resolved",
    ]
