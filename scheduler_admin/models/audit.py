"""Who did what to which schedule or run, and when."""

from django.conf import settings
from django.db import models


class AuditAction(models.TextChoices):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    ENABLED = "enabled"
    DISABLED = "disabled"
    PAUSED = "paused"
    TRIGGERED = "triggered"
    RETRIED = "retried"
    CANCELLED = "cancelled"
    ANSWERED = "answered"


class AuditEntry(models.Model):
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)  # kept when the user is deleted
    action = models.CharField(max_length=16, choices=AuditAction.choices)
    schedule = models.ForeignKey(
        "scheduler_admin.Schedule",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_entries",
    )
    schedule_name = models.CharField(max_length=255)
    run = models.ForeignKey(
        "scheduler_admin.ScheduleRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    changes = models.JSONField(default=dict, blank=True)  # {"field": [old, new]}
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "agno_audit_log"
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.actor_name or 'system'} {self.action} {self.schedule_name}"
