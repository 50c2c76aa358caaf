"""The outbox: each Notification row is sent by a django-q2 task, once.

A notification is a small state machine on its row, like a run: ``pending`` →
``sending`` (claimed with a conditional UPDATE, under a lease) → ``sent``, or back to
``pending`` with ``next_attempt_at`` pushed back (5 s, 30 s, 2 min, 10 min, 30 min,
1 h), or ``failed`` after ALERT_MAX_ATTEMPTS or a refusal that retrying cannot fix.
Every try is a DeliveryAttempt row. A second delivery of the same task does nothing;
``sweep`` (manage.py run_alerts) re-sends what is due and what a dead worker held, so
a restart loses no alert. Each notification is its own task with its own timeouts, so
a channel that hangs delays neither runs nor the other channels.
"""

import logging
import time
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from scheduler_admin.alerts import channels
from scheduler_admin.alerts.config import option
from scheduler_admin.models.alerts import DeliveryAttempt, DeliveryStatus, Notification

log = logging.getLogger(__name__)

DELIVER_TASK = "scheduler_admin.alerts.delivery.deliver"
PROCESS_TASK = "scheduler_admin.alerts.incidents.process_pending"
BACKOFF_S = (5, 30, 120, 600, 1800, 3600)
# A pending row handed to the broker is not handed again before this (a queue may be
# busy); after it, the sweep assumes the message was lost.
HANDED_FOR_S = 60


def enqueue_processing() -> None:
    """Process the engine's new events soon, outside the engine's transaction."""
    mode = option("DELIVERY")
    if mode == "manual":
        return
    if mode == "inline":
        from scheduler_admin.alerts.incidents import process_pending

        process_pending()
        return
    from django_q.tasks import async_task

    async_task(PROCESS_TASK, task_name="alerts-process-events")


def enqueue(pks: list[int]) -> None:
    """Hand notifications to the workers (or, in tests, send them now)."""
    mode = option("DELIVERY")
    if not pks or mode == "manual":
        return
    if mode == "inline":
        for pk in pks:
            deliver(pk)
        return
    from django_q.tasks import async_task

    with transaction.atomic():  # one commit for the lot with the ORM broker
        for pk in pks:
            async_task(DELIVER_TASK, pk, task_name=f"alert-notification-{pk}")


def deliver(pk: int) -> str | None:
    """The django-q2 task: claim the notification, send it, record the attempt. Returns
    the notification's new status, or None if it was not ours to send."""
    now = timezone.now()
    lease = timedelta(seconds=option("HTTP_TIMEOUT_S") * 2 + 30)
    claimed = Notification.objects.filter(
        pk=pk, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
    ).update(
        status=DeliveryStatus.SENDING, attempts=F("attempts") + 1, lease_expires_at=now + lease
    )
    if not claimed:
        return None
    notification = Notification.objects.select_related("channel").get(pk=pk)
    started = time.monotonic()
    if notification.channel.enabled:
        result = channels.send(notification)
    else:
        result = channels.Result(False, error="The channel is disabled", retryable=False)
    finished = timezone.now()
    DeliveryAttempt.objects.create(
        notification=notification,
        number=notification.attempts,
        started_at=now,
        duration_ms=int((time.monotonic() - started) * 1000),
        ok=result.ok,
        status_code=result.status_code,
        reply=result.reply,
        error=result.error,
    )
    fields = {"lease_expires_at": None, "last_error": result.error}
    if result.ok:
        fields.update(status=DeliveryStatus.SENT, sent_at=finished)
    elif result.retryable and notification.attempts < option("MAX_ATTEMPTS"):
        delay = BACKOFF_S[min(notification.attempts, len(BACKOFF_S)) - 1]
        fields.update(
            status=DeliveryStatus.PENDING, next_attempt_at=finished + timedelta(seconds=delay)
        )
    else:
        fields.update(status=DeliveryStatus.FAILED)
    Notification.objects.filter(pk=pk, status=DeliveryStatus.SENDING).update(**fields)
    level = logging.INFO if result.ok else logging.WARNING
    log.log(
        level,
        "notification %s (channel %s, attempt %s): %s",
        pk,
        notification.channel_id,
        notification.attempts,
        "sent" if result.ok else result.error,
    )
    return fields["status"]


def sweep(now: datetime) -> list[int]:
    """Re-send what is due: retries whose back-off has passed, rows a dead worker was
    sending, and rows whose broker message was lost. Returns the pks handed out."""
    Notification.objects.filter(status=DeliveryStatus.SENDING, lease_expires_at__lt=now).update(
        status=DeliveryStatus.PENDING, lease_expires_at=None
    )
    due = list(
        Notification.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(lease_expires_at=None) | Q(lease_expires_at__lt=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:500]
    )
    handed_until = now + timedelta(seconds=HANDED_FOR_S)
    claimed = [
        pk
        for pk in due
        if Notification.objects.filter(
            Q(lease_expires_at=None) | Q(lease_expires_at__lt=now),
            pk=pk,
            status=DeliveryStatus.PENDING,
        ).update(lease_expires_at=handed_until)
    ]
    enqueue(claimed)
    return claimed
