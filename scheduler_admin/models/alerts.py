"""Alerting: channels, per-schedule rules, incidents, and the notification outbox.

An engine event (a run closed, a schedule paused) is an AlertEvent row written in the
engine's own transaction; alerts/incidents.py turns it into an incident (one open per
key) and Notification rows (the outbox), which alerts/delivery.py sends.
"""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone


class ChannelKind(models.TextChoices):
    EMAIL = "email", "Email"
    SLACK = "slack", "Slack incoming webhook"
    WEBHOOK = "webhook", "Webhook (signed JSON)"
    APPRISE = "apprise", "Apprise URL (Teams, Discord, Telegram, ntfy, PagerDuty, …)"


class IncidentKind(models.TextChoices):
    FAILING = "failing", "Schedule failing"
    PAUSED = "paused", "Schedule paused"
    TARGET_DOWN = "target_down", "Agent server unreachable"
    LATE = "late", "Runs late"
    SCHEDULER_SILENT = "scheduler_silent", "Scheduler silent"
    APPROVAL_NEEDED = "approval_needed", "Approval needed"


class IncidentStatus(models.TextChoices):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class NotificationEvent(models.TextChoices):
    OPENED = "opened"
    RESOLVED = "resolved"
    REMINDER = "reminder"
    TEST = "test"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class AlertChannelQuerySet(models.QuerySet):
    def listening_to(self, kind: str) -> list["AlertChannel"]:
        """Enabled channels subscribed to incidents of ``kind`` (a short list: filtered
        in Python, as JSON containment is not portable across SQLite and PostgreSQL)."""
        return [c for c in self.filter(enabled=True).order_by("pk") if kind in c.kinds]


def _all_kinds() -> list[str]:
    return list(IncidentKind.values)


class AlertChannel(models.Model):
    """Where alerts go. The secrets (Slack, webhook or Apprise URL, which often carry a
    token; the webhook signing key) are stored encrypted (alerts/secrets.py) and never
    rendered, logged or audited; ``secret_hint`` is what the console shows instead."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    enabled = models.BooleanField(default=True)
    # Email recipients; nothing secret ever goes here.
    recipients = models.JSONField(default=list, blank=True)
    secret_encrypted = models.TextField(blank=True, editable=False)
    secret_hint = models.CharField(max_length=80, blank=True, editable=False)
    kinds = models.JSONField(default=_all_kinds, help_text="Incident kinds this channel receives.")
    remind_every_h = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Remind while an incident stays open (hours)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AlertChannelQuerySet.as_manager()

    class Meta:
        db_table = "alert_channels"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def set_secrets(self, values: dict[str, str]) -> None:
        """Encrypt and keep ``values`` ({"url": …, "signing_key": …}); only a hint that
        reveals nothing (scheme and host of the URL) stays readable."""
        from scheduler_admin.alerts import secrets

        self.secret_encrypted = secrets.encrypt(values) if values else ""
        self.secret_hint = secrets.hint(values.get("url", "")) if values else ""

    def secrets(self) -> dict[str, str]:
        """The decrypted secrets, for the sender only."""
        from scheduler_admin.alerts import secrets

        return secrets.decrypt(self.secret_encrypted) if self.secret_encrypted else {}


class ScheduleAlertRule(models.Model):
    """A schedule's overrides: after how many consecutive failed firings it alerts,
    whether it is muted, and (when set) which channels hear about it."""

    schedule = models.OneToOneField(
        "scheduler_admin.Schedule", on_delete=models.CASCADE, related_name="alert_rule"
    )
    failure_threshold = models.PositiveSmallIntegerField(
        default=1, help_text="Consecutive failed firings (after their last retry) that alert."
    )
    muted = models.BooleanField(default=False)
    channels = models.ManyToManyField(AlertChannel, blank=True, related_name="+")

    class Meta:
        db_table = "alert_schedule_rules"

    def __str__(self) -> str:
        return f"alert rule for schedule {self.schedule_id}"


class AlertEventKind(models.TextChoices):
    RUN_CLOSED = "run_closed"
    SCHEDULE_PAUSED = "schedule_paused"
    APPROVAL_NEEDED = "approval_needed"


class AlertEvent(models.Model):
    """What the engine reported, written in its transaction: processed once, later,
    by alerts/incidents.process_pending (so a crash between the two loses nothing)."""

    kind = models.CharField(max_length=32, choices=AlertEventKind.choices)
    schedule = models.ForeignKey(
        "scheduler_admin.Schedule", on_delete=models.CASCADE, related_name="+"
    )
    run = models.ForeignKey(
        "scheduler_admin.ScheduleRun", null=True, on_delete=models.CASCADE, related_name="+"
    )
    consecutive_failures = models.PositiveIntegerField(default=0)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "alert_events"
        indexes = [
            # The sweep reads only unprocessed events: a small partial index.
            models.Index(
                fields=["id"], name="alert_event_pending_idx", condition=models.Q(processed_at=None)
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} (schedule {self.schedule_id}, run {self.run_id})"


class IncidentQuerySet(models.QuerySet):
    def unresolved(self) -> "IncidentQuerySet":
        return self.filter(resolved_at__isnull=True)

    def for_list(self) -> "IncidentQuerySet":
        return self.select_related("schedule", "target", "acknowledged_by").order_by("-pk")


class Incident(models.Model):
    """One problem, however often it repeats: one unresolved incident per ``key``
    ("schedule:12:failing", "target:3:target_down", "scheduler_silent")."""

    kind = models.CharField(max_length=32, choices=IncidentKind.choices)
    key = models.CharField(max_length=100)
    schedule = models.ForeignKey(
        "scheduler_admin.Schedule",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    target = models.ForeignKey(
        "scheduler_admin.Target", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=16, choices=IncidentStatus.choices, default=IncidentStatus.OPEN
    )
    title = models.CharField(max_length=300)
    summary = models.TextField(blank=True)
    count = models.PositiveIntegerField(default=1, help_text="Occurrences folded into it.")
    affected_schedules = models.PositiveIntegerField(default=0)
    opened_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    last_run = models.ForeignKey(
        "scheduler_admin.ScheduleRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    runs = models.ManyToManyField("scheduler_admin.ScheduleRun", blank=True, related_name="+")
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=500, blank=True)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        db_table = "alert_incidents"
        ordering = ["-pk"]
        constraints = [
            # Two workers folding the same failure race to open it: the loser's insert
            # fails here and it folds into the winner's incident instead.
            models.UniqueConstraint(
                fields=["key"],
                condition=models.Q(resolved_at=None),
                name="one_open_incident_per_key",
            )
        ]
        indexes = [models.Index(fields=["status", "-id"], name="incident_status_idx")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_resolved(self) -> bool:
        return self.resolved_at is not None

    def duration_s(self, now: datetime | None = None) -> int:
        end = self.resolved_at or now or timezone.now()
        return int((end - self.opened_at).total_seconds())


class Notification(models.Model):
    """The outbox: one row per (incident, channel, event). ``dedup_key`` makes a second
    writer of the same notification a no-op, so one incident alerts a channel once."""

    channel = models.ForeignKey(
        AlertChannel, on_delete=models.CASCADE, related_name="notifications"
    )
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.CharField(max_length=16, choices=NotificationEvent.choices)
    dedup_key = models.CharField(max_length=120, unique=True)
    payload = models.JSONField()
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "alert_notifications"
        ordering = ["-pk"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="notification_due_idx",
                condition=models.Q(status__in=["pending", "sending"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.channel_id}"


class DeliveryAttempt(models.Model):
    """One try at sending a notification: what the receiver answered."""

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="delivery_attempts"
    )
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    ok = models.BooleanField(default=False)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    reply = models.CharField(max_length=500, blank=True, help_text="HTTP body or SMTP reply.")
    error = models.CharField(max_length=1000, blank=True)

    class Meta:
        db_table = "alert_delivery_attempts"
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"attempt {self.number}: {'ok' if self.ok else self.error}"
