"""Schedules: what to call, when, and with which retry/overlap/catch-up policy."""

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from scheduler_admin import validators as v


class HttpMethod(models.TextChoices):
    GET = "GET"
    POST = "POST"
    PUT = "PUT"
    PATCH = "PATCH"
    DELETE = "DELETE"


class OverlapPolicy(models.TextChoices):
    SKIP = "skip", "Skip (record the due time as skipped)"
    ALLOW = "allow", "Allow (run concurrently)"
    BUFFER_ONE = "buffer_one", "Buffer one (run once more when the current run ends)"


class CatchUpPolicy(models.TextChoices):
    LATEST = "latest", "Latest (fire once for the missed times)"
    NONE = "none", "None (skip missed times)"
    ALL = "all", "All (fire every missed time within the catch-up window)"


class PauseTimeoutAction(models.TextChoices):
    REJECT = "reject", "Reject (answer no; the agent server decides what follows)"
    CANCEL = "cancel", "Cancel the run on the agent server"


class ScheduleQuerySet(models.QuerySet):
    def due(self, now: datetime) -> "ScheduleQuerySet":
        """Enabled schedules whose next run time has come; served by schedule_due_idx."""
        return self.filter(enabled=True, next_run_at__lte=now).order_by("next_run_at", "pk")

    def next_due_at(self) -> datetime | None:
        return (
            self.filter(enabled=True, next_run_at__isnull=False)
            .order_by("next_run_at")
            .values_list("next_run_at", flat=True)
            .first()
        )


class Schedule(models.Model):
    name = models.CharField(max_length=255, unique=True, validators=[v.validate_name])
    description = models.TextField(blank=True)
    target = models.ForeignKey(
        "scheduler_admin.Target", on_delete=models.PROTECT, related_name="schedules"
    )
    endpoint = models.CharField(max_length=512, validators=[v.validate_endpoint])
    method = models.CharField(max_length=8, choices=HttpMethod.choices, default=HttpMethod.POST)
    payload = models.JSONField(default=dict, blank=True, validators=[v.validate_payload])
    cron_expr = models.CharField(max_length=120, validators=[v.validate_cron])
    timezone = models.CharField(max_length=64, default="UTC", validators=[v.validate_timezone])
    timeout_s = models.PositiveIntegerField(default=3600, validators=[v.InRange("timeout_s")])
    max_retries = models.PositiveSmallIntegerField(default=0, validators=[v.InRange("max_retries")])
    retry_delay_s = models.PositiveIntegerField(default=60, validators=[v.InRange("retry_delay_s")])
    retry_backoff = models.FloatField(default=2.0, validators=[v.InRange("retry_backoff")])
    enabled = models.BooleanField(default=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    overlap_policy = models.CharField(
        max_length=16, choices=OverlapPolicy.choices, default=OverlapPolicy.SKIP
    )
    catch_up_policy = models.CharField(
        max_length=16, choices=CatchUpPolicy.choices, default=CatchUpPolicy.LATEST
    )
    pause_after_failures = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[v.InRange("pause_after_failures")],
        help_text="Disable after this many consecutive failures (empty: never).",
    )
    pause_timeout_s = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[v.InRange("pause_timeout_s")],
        help_text="How long a run paused for a person may wait for an answer (empty: forever).",
    )
    pause_timeout_action = models.CharField(
        max_length=8, choices=PauseTimeoutAction.choices, default=PauseTimeoutAction.REJECT
    )
    consecutive_failures = models.PositiveIntegerField(default=0)
    paused_reason = models.CharField(max_length=500, blank=True)
    code_managed = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScheduleQuerySet.as_manager()

    class Meta:
        db_table = "agno_schedules"
        ordering = ["name"]
        indexes = [
            # The claim query: WHERE enabled AND next_run_at <= now ORDER BY next_run_at.
            models.Index(
                fields=["next_run_at"],
                name="schedule_due_idx",
                condition=models.Q(enabled=True),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # Field validators have run: only check the pair when each part is valid.
        try:
            v.validate_cron(self.cron_expr)
            v.validate_timezone(self.timezone)
        except ValidationError:
            return
        v.validate_fires_in_zone(self.cron_expr, self.timezone)
