"""What ``manage.py run_alerts`` checks on every tick, each a function a test calls once.

This runs in its own process, not in the scheduler: when every scheduler is dead, the
silence is seen here, from what is stored (due schedules nobody fired), so it reaches
someone within ALERT_LATE_AFTER_S plus a tick.
"""

import logging
import threading
from datetime import datetime, timedelta

from django.db import close_old_connections, transaction
from django.db.models import Max
from django.utils import timezone

from scheduler_admin.alerts import delivery, incidents
from scheduler_admin.alerts.config import option
from scheduler_admin.models import Heartbeat, RunStatus, Schedule, ScheduleRun
from scheduler_admin.models.alerts import (
    AlertChannel,
    Incident,
    IncidentKind,
    IncidentStatus,
    NotificationEvent,
)

log = logging.getLogger(__name__)

SILENT_KEY = "scheduler_silent"
LATE_KEY = "late"


def check_scheduler(now: datetime) -> None:
    """Open "scheduler silent" while enabled schedules stay unfired past their due time
    by more than ALERT_LATE_AFTER_S, or when the schedulers' heartbeat (ops/heartbeat.py,
    stored every few seconds by any scheduler that ticks) is older than that even with
    nothing due; resolve it once they fire and beat again."""
    cutoff = now - timedelta(seconds=option("LATE_AFTER_S"))
    # schedule_due_idx (next_run_at WHERE enabled) answers both queries.
    overdue = Schedule.objects.filter(enabled=True, next_run_at__lt=cutoff)
    oldest = overdue.order_by("next_run_at").values_list("next_run_at", flat=True).first()
    beat = Heartbeat.objects.filter(name="scheduler").values_list("beat_at", flat=True).first()
    if oldest is None and (beat is None or beat >= cutoff):
        _resolve(SILENT_KEY, now, "Due schedules are being fired again.")
        return
    if oldest is None:
        _ongoing(
            SILENT_KEY,
            IncidentKind.SCHEDULER_SILENT,
            now,
            title="No scheduler is running",
            summary=f"No scheduler has ticked for {int((now - beat).total_seconds())} s "
            "(nothing is due yet). Is run_scheduler running?",
        )
        return
    count = overdue.count()
    _ongoing(
        SILENT_KEY,
        IncidentKind.SCHEDULER_SILENT,
        now,
        title="No scheduler is firing due schedules",
        summary=f"{count} enabled schedule{'s' if count != 1 else ''} not fired; the oldest "
        f"was due {int((now - oldest).total_seconds())} s ago. Is run_scheduler running?",
    )


def check_late(now: datetime) -> None:
    """Open "late" while queued runs wait more than ALERT_LATE_AFTER_S past their due
    time without their request leaving (workers down or backlogged)."""
    cutoff = now - timedelta(seconds=option("LATE_AFTER_S"))
    late = ScheduleRun.objects.filter(
        status=RunStatus.QUEUED, held_for_overlap=False, not_before__lt=cutoff
    )
    oldest = late.order_by("not_before").values_list("not_before", flat=True).first()
    if oldest is None:
        _resolve(LATE_KEY, now, "Queued runs are being sent in time again.")
        return
    count = late.count()
    _ongoing(
        LATE_KEY,
        IncidentKind.LATE,
        now,
        title="Runs are late: queued but not sent",
        summary=f"{count} queued run{'s' if count != 1 else ''} past due; the oldest by "
        f"{int((now - oldest).total_seconds())} s. Are the workers (qcluster) running?",
    )


def resolve_stale(now: datetime) -> None:
    """Pauses lifted by hand, and incidents whose schedule was deleted, end here."""
    stale = Incident.objects.unresolved().filter(kind=IncidentKind.PAUSED, schedule__enabled=True)
    for incident in stale:
        with transaction.atomic():
            notes = incidents.resolve(incident, now, note="The schedule was enabled again.")
            incidents.deliver_after_commit(notes)
    gone = Incident.objects.unresolved().filter(
        kind__in=[IncidentKind.FAILING, IncidentKind.PAUSED], schedule=None
    )
    for incident in gone:
        with transaction.atomic():
            notes = incidents.resolve(incident, now, note="The schedule was deleted.")
            incidents.deliver_after_commit(notes)
    answered = Incident.objects.unresolved().filter(kind=IncidentKind.APPROVAL_NEEDED)
    for incident in answered.exclude(last_run__status=RunStatus.PAUSED):
        with transaction.atomic():
            notes = incidents.resolve(incident, now, note="The run no longer waits for an answer.")
            incidents.deliver_after_commit(notes)
    _resolve_recovered(now)


def _resolve_recovered(now: datetime) -> None:
    """A success the event path did not see (events.run_closed skips successes of a
    schedule it believed healthy; two overlapping runs can make that belief stale, and
    an agent server recovers through any of its schedules) resolves its incidents here.
    Few incidents are open; each costs one indexed query."""
    recoverable = Incident.objects.unresolved().filter(
        kind__in=[IncidentKind.FAILING, IncidentKind.TARGET_DOWN]
    )
    for incident in recoverable.select_related("schedule"):
        runs = ScheduleRun.objects.filter(
            status=RunStatus.SUCCESS, pk__gt=incident.last_run_id or 0
        )
        if incident.kind == IncidentKind.FAILING:
            runs = runs.filter(schedule_id=incident.schedule_id)
        else:
            runs = runs.filter(schedule__target_id=incident.target_id)
        success = runs.order_by("pk").select_related("schedule").first()
        if success is None:
            continue
        note = f"Run #{success.pk} of {success.schedule.name} succeeded."
        with transaction.atomic():
            incidents.deliver_after_commit(incidents.resolve(incident, now, note=note, run=success))


def send_reminders(now: datetime) -> None:
    """Remind channels that ask for it of incidents still open and unacknowledged."""
    for channel in AlertChannel.objects.filter(enabled=True, remind_every_h__isnull=False):
        cutoff = now - timedelta(hours=channel.remind_every_h)
        told = (
            Incident.objects.filter(status=IncidentStatus.OPEN, notifications__channel=channel)
            .annotate(last_told=Max("notifications__created_at"))
            .filter(last_told__lt=cutoff)
        )
        for incident in told:
            with transaction.atomic():
                notes = incidents.notify(incident, NotificationEvent.REMINDER, [channel], now)
                incidents.deliver_after_commit(notes)


def _ongoing(key: str, kind: str, now: datetime, *, title: str, summary: str) -> None:
    """A condition seen on every tick is one incident: opened once, then kept current
    (a tick is not a new occurrence, so its count does not grow)."""
    with transaction.atomic():
        updated = (
            Incident.objects.unresolved().filter(key=key).update(summary=summary, last_seen_at=now)
        )
        if not updated:
            notes = incidents.open_or_fold(key, kind, now, title=title, summary=summary)
            incidents.deliver_after_commit(notes)


def _resolve(key: str, now: datetime, note: str) -> None:
    incident = Incident.objects.unresolved().filter(key=key).first()
    if incident is not None:
        with transaction.atomic():
            incidents.deliver_after_commit(incidents.resolve(incident, now, note=note))


def tick(now: datetime) -> dict[str, str]:
    """One pass of run_alerts. Each step is isolated: one that fails (say, a locked
    database) is logged and runs again next tick; the others still run."""
    failed = {}
    for name, step in STEPS:
        try:
            step(now)
        except Exception as exc:  # noqa: BLE001 - recorded in the log and the result
            log.exception("alerts step %r failed; it runs again next tick", name)
            failed[name] = type(exc).__name__
    return failed


def run_forever(stop: threading.Event) -> None:
    """Loop until ``stop`` is set (SIGTERM/SIGINT in the command)."""
    tick_s = option("TICK_S")
    log.info(
        "alerts monitor started (tick %.1f s, late after %.0f s)", tick_s, option("LATE_AFTER_S")
    )
    while not stop.is_set():
        close_old_connections()
        tick(timezone.now())
        stop.wait(tick_s)
    log.info("alerts monitor stopped")


def _process_events(now: datetime) -> None:
    incidents.process_pending()


STEPS = (
    # Events whose processing task was lost (or never sent: a restart) first.
    ("events", _process_events),
    ("scheduler", check_scheduler),
    ("late", check_late),
    ("stale", resolve_stale),
    ("reminders", send_reminders),
    ("deliveries", delivery.sweep),
)
