"""Engine events to incidents: open one per key, fold repeats into it, resolve it.

Every change that alerts writes its Notification rows (the outbox) in the same
transaction, and hands them to delivery after commit; a second writer of the same
notification is stopped by its unique ``dedup_key``, so one incident alerts a channel
once on open and once on resolve.
"""

import logging
from datetime import datetime, timedelta

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from scheduler_admin.alerts import content, rules
from scheduler_admin.alerts.delivery import HANDED_FOR_S, enqueue
from scheduler_admin.models import ScheduleRun
from scheduler_admin.models.alerts import (
    AlertChannel,
    AlertEvent,
    AlertEventKind,
    Incident,
    IncidentKind,
    IncidentStatus,
    Notification,
    NotificationEvent,
)
from scheduler_admin.models.run import FAILED_STATUSES, RunStatus

log = logging.getLogger(__name__)

BATCH = 500


def process_pending(limit: int = BATCH) -> int:
    """Process events not yet processed, oldest first; how many this call processed.
    Safe to run in several processes at once: each event is claimed once."""
    pks = list(
        AlertEvent.objects.filter(processed_at=None)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(1 for pk in pks if process_event(pk))


def process_event(pk: int) -> bool:
    """Claim one event and apply it; False if another process had it already."""
    try:
        with transaction.atomic():
            now = timezone.now()
            if not AlertEvent.objects.filter(pk=pk, processed_at=None).update(processed_at=now):
                return False
            event = AlertEvent.objects.select_related(
                "schedule__target", "run__schedule__target"
            ).get(pk=pk)
            if event.kind == AlertEventKind.RUN_CLOSED:
                notifications = _on_run_closed(event, now)
            elif event.kind == AlertEventKind.APPROVAL_NEEDED:
                notifications = _on_approval_needed(event, now)
            else:
                notifications = _on_paused(event, now)
            deliver_after_commit(notifications)
    except DatabaseError:
        raise  # a locked or lost database: the event stays unprocessed for the next sweep
    except Exception as exc:
        # One event that cannot be applied must not block the others on every sweep:
        # mark it processed, with why, where an operator looking at the row sees it.
        log.exception("alert event %s: could not be processed", pk)
        AlertEvent.objects.filter(pk=pk).update(
            processed_at=timezone.now(), note=f"processing failed: {type(exc).__name__}"
        )
    return True


def _on_run_closed(event: AlertEvent, now: datetime) -> list[int]:
    run, schedule = event.run, event.schedule
    if run is None:
        return []
    if run.status == RunStatus.SUCCESS:
        return _on_success(run, event, now)
    if run.status not in FAILED_STATUSES:
        return []
    if ScheduleRun.objects.filter(retry_of=run).exists():
        return []  # not the last attempt: a retry follows, nobody needs to hear yet
    target = schedule.target
    if rules.peer_unreachable(run):
        return _target_down(run, now)
    if _fold_into_target(target, run, now):
        return []
    if event.consecutive_failures < max(1, rules.rule_for(schedule).failure_threshold):
        return []
    streak = event.consecutive_failures
    return open_or_fold(
        f"schedule:{schedule.pk}:failing",
        IncidentKind.FAILING,
        now,
        schedule=schedule,
        target=target,
        run=run,
        title=f"Schedule {schedule.name} failing",
        summary=(
            f"Failed after its last retry ({run.attempt} attempt{'s' if run.attempt > 1 else ''})"
            + (f"; {streak} failed firings in a row." if streak > 1 else ".")
        ),
    )


def _on_success(run: ScheduleRun, event: AlertEvent, now: datetime) -> list[int]:
    notifications: list[int] = []
    streak = event.consecutive_failures
    after = f" after {streak} failed firing{'s' if streak != 1 else ''}" if streak else ""
    for incident in Incident.objects.unresolved().filter(
        schedule_id=run.schedule_id, kind__in=[IncidentKind.FAILING, IncidentKind.PAUSED]
    ):
        notifications += resolve(incident, now, note=f"Run #{run.pk} succeeded{after}.", run=run)
    for incident in Incident.objects.unresolved().filter(
        target_id=event.schedule.target_id, kind=IncidentKind.TARGET_DOWN
    ):
        note = f"Run #{run.pk} of {event.schedule.name} reached the agent server again."
        notifications += resolve(incident, now, note=note, run=run)
    return notifications


def _target_down(run: ScheduleRun, now: datetime) -> list[int]:
    target = run.schedule.target
    return open_or_fold(
        f"target:{target.pk}:target_down",
        IncidentKind.TARGET_DOWN,
        now,
        target=target,
        run=run,
        title=f"Agent server {target.name} unreachable",
        summary=run.error[:500],
    )


def _on_paused(event: AlertEvent, now: datetime) -> list[int]:
    schedule = event.schedule
    # The pause is written (and so processed) before the run_closed event of the
    # failure that caused it: if that failure was the server's, say so now.
    last = (
        ScheduleRun.objects.filter(schedule=schedule, status__in=FAILED_STATUSES)
        .select_related("schedule__target")
        .order_by("-pk")
        .first()
    )
    if last is not None and rules.peer_unreachable(last):
        return _target_down(last, now)
    if _fold_into_target(schedule.target, None, now):
        return []
    return open_or_fold(
        f"schedule:{schedule.pk}:paused",
        IncidentKind.PAUSED,
        now,
        schedule=schedule,
        target=schedule.target,
        title=f"Schedule {schedule.name} paused",
        summary=event.note,
    )


def _on_approval_needed(event: AlertEvent, now: datetime) -> list[int]:
    """One incident per paused run: a person must answer it (resolved by the monitor
    once the run no longer waits)."""
    run, schedule = event.run, event.schedule
    if run is None or run.status != RunStatus.PAUSED:
        return []
    from scheduler_admin.engine.approvals import questions

    asks = "; ".join(q["message"] or q["step"] for q in questions(run)) or "a person's answer"
    return open_or_fold(
        f"run:{run.pk}:approval_needed",
        IncidentKind.APPROVAL_NEEDED,
        now,
        schedule=schedule,
        target=schedule.target,
        run=run,
        title=f"Approval needed: {schedule.name}",
        summary=f"Run #{run.pk} waits for {asks[:300]}. Answer it in the approvals inbox: "
        + content.link("approval_list"),
    )


def _fold_into_target(target, run: ScheduleRun | None, now: datetime) -> bool:
    """While the target's own incident is open, a schedule's failure on it is one more
    occurrence of that incident, not an alert of its own (no storm)."""
    incident = Incident.objects.unresolved().filter(key=f"target:{target.pk}:target_down").first()
    if incident is None:
        return False
    _fold(incident, now, run=run)
    return True


def open_or_fold(
    key: str,
    kind: str,
    now: datetime,
    *,
    title: str,
    summary: str = "",
    schedule=None,
    target=None,
    run: ScheduleRun | None = None,
) -> list[int]:
    """Open the incident ``key``, or count one more occurrence of the open one. Returns
    the pks of the notifications it wrote (only an opening notifies)."""
    incident = Incident.objects.unresolved().filter(key=key).first()
    if incident is None:
        try:
            with transaction.atomic():
                incident = Incident.objects.create(
                    key=key,
                    kind=kind,
                    schedule=schedule,
                    target=target,
                    title=title[:300],
                    summary=summary,
                    opened_at=now,
                    last_seen_at=now,
                    last_run=run,
                    affected_schedules=1 if run else 0,
                )
        except IntegrityError:
            # Another process opened it a moment ago: ours is a repeat.
            incident = Incident.objects.unresolved().get(key=key)
        else:
            if run:
                incident.runs.add(run)
            log.warning("incident %s opened: %s", incident.pk, incident.title)
            return notify(incident, NotificationEvent.OPENED, rules.channels_for(incident), now)
    _fold(incident, now, run=run, summary=summary)
    return []


def _fold(incident: Incident, now: datetime, *, run=None, summary: str = "") -> None:
    fields = {"count": F("count") + 1, "last_seen_at": now}
    if run is not None:
        incident.runs.add(run)
        fields["last_run"] = run
        if incident.kind == IncidentKind.TARGET_DOWN:
            fields["affected_schedules"] = incident.runs.values("schedule_id").distinct().count()
    if summary:
        fields["summary"] = summary
    Incident.objects.filter(pk=incident.pk).update(**fields)


def notify(
    incident: Incident, event: str, channels: list[AlertChannel], now: datetime
) -> list[int]:
    """Write one outbox row per channel; a row that exists already is left alone."""
    if not channels:
        return []
    incident.refresh_from_db()
    sequence = ""
    if event == NotificationEvent.REMINDER:
        sequence = f":{int(now.timestamp())}"
    body = content.payload(incident, event, now)
    made = []
    for channel in channels:
        notification, created = Notification.objects.get_or_create(
            dedup_key=f"{incident.pk}:{channel.pk}:{event}{sequence}",
            defaults={
                "channel": channel,
                "incident": incident,
                "event": event,
                "payload": body,
                "next_attempt_at": now,
                # Handed to the broker right after commit; the sweep re-sends it if not.
                "lease_expires_at": now + timedelta(seconds=HANDED_FOR_S),
                "created_at": now,
            },
        )
        if created:
            made.append(notification.pk)
    return made


def resolve(
    incident: Incident, now: datetime, *, note: str, user=None, run: ScheduleRun | None = None
) -> list[int]:
    """Resolve ``incident`` (once: a conditional update) and tell the channels that
    were told it opened."""
    resolved = Incident.objects.filter(pk=incident.pk, resolved_at=None).update(
        status=IncidentStatus.RESOLVED,
        resolved_at=now,
        resolved_by=user,
        resolution=note[:500],
        **({"last_run": run} if run else {}),
    )
    if not resolved:
        return []
    if run:
        incident.runs.add(run)
    log.info("incident %s resolved: %s", incident.pk, note)
    told = AlertChannel.objects.filter(
        enabled=True, notifications__incident=incident, notifications__event="opened"
    ).distinct()
    return notify(incident, NotificationEvent.RESOLVED, list(told), now)


def acknowledge(incident: Incident, user) -> bool:
    """Someone is on it: recorded with who and when; reminders stop."""
    return bool(
        Incident.objects.filter(pk=incident.pk, status=IncidentStatus.OPEN).update(
            status=IncidentStatus.ACKNOWLEDGED, acknowledged_by=user, acknowledged_at=timezone.now()
        )
    )


def resolve_by_hand(incident: Incident, user) -> bool:
    """An operator closes the incident from the console or the API."""
    with transaction.atomic():
        notifications = resolve(
            incident, timezone.now(), note=f"Resolved by {user.get_username()}.", user=user
        )
        deliver_after_commit(notifications)
    incident.refresh_from_db()
    return incident.resolved_by_id == user.pk


def deliver_after_commit(pks: list[int]) -> None:
    """Send the notifications once the transaction that wrote them has committed."""
    if pks:
        # robust: a broker error is logged, never raised into the caller; the sweep
        # of run_alerts sends what it left pending.
        transaction.on_commit(lambda: enqueue(pks), robust=True)
