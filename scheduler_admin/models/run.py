"""Schedule runs: one row per firing and per attempt. Retries add rows, never overwrite."""

from datetime import UTC, datetime

from django.conf import settings
from django.db import models
from django.utils import timezone


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    PAUSED = "paused"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


class RunStage(models.TextChoices):
    """Where a running run is. Each stage names who moves it on (docs/architecture.md)."""

    NONE = "", "—"
    # A worker holds a lease and executes the run itself: the local runtime, or one
    # plain HTTP request.
    EXECUTING = "executing"
    # A worker holds a lease and is sending the agent server a background run.
    SUBMITTING = "submitting"
    # The agent server has the run (run_id known); a follower checks it now and then.
    FOLLOWING = "following"
    # The submit was sent but its answer was lost: a follower asks the server whether
    # it has the run (by our session id) before anything is sent again.
    REATTACHING = "reattaching"
    # Someone asked to cancel; a follower (or the executing worker) ends it.
    CANCELLING = "cancelling"
    # A person answered a paused run (engine/approvals.py): the answer is stored and is
    # being sent to the agent server; a follower sends it again only after asking the
    # server whether the run is still paused.
    ANSWERING = "answering"


class ImportStatus(models.TextChoices):
    NONE = "", "—"
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)
FAILED_STATUSES = (RunStatus.FAILED, RunStatus.TIMEOUT)
TERMINAL_STATUSES = tuple(s for s in RunStatus if s not in ACTIVE_STATUSES)


class Trigger(models.TextChoices):
    SCHEDULE = "schedule"
    MANUAL = "manual"
    RETRY = "retry"
    CATCH_UP = "catch_up", "Catch-up"


class ScheduleRunQuerySet(models.QuerySet):
    def active(self) -> "ScheduleRunQuerySet":
        return self.filter(status__in=ACTIVE_STATUSES)

    def in_progress(self, now: datetime) -> "ScheduleRunQuerySet":
        """What the overlap policies count as "in progress": a running call, or a queued
        run whose time has come (it waits only for a free worker). A retry waiting out
        its delay is not a call in flight, and a buffered run waits behind the others.
        Served by run_running_schedule_idx and run_queued_schedule_idx."""
        # Two branches, one partial index each (SQLite: MULTI-INDEX OR). No `status IN`
        # term: with bound parameters SQLite cannot match it to a partial index and,
        # once ANALYZEd, walked each schedule's whole history instead.
        return self.filter(
            models.Q(status=RunStatus.RUNNING)
            | models.Q(status=RunStatus.QUEUED, held_for_overlap=False, not_before__lte=now)
        )

    def failed(self) -> "ScheduleRunQuerySet":
        return self.filter(status__in=FAILED_STATUSES)

    def ready_to_dispatch(self, now: datetime) -> "ScheduleRunQuerySet":
        """Queued runs whose not-before time has come and that no broker holds yet."""
        return self.filter(
            status=RunStatus.QUEUED, dispatched_at__isnull=True, not_before__lte=now
        ).order_by("not_before", "pk")

    def awaiting_dispatch(self) -> "ScheduleRunQuerySet":
        """Queued runs waiting for their not-before time (retries), not held ones."""
        return self.filter(
            status=RunStatus.QUEUED, dispatched_at__isnull=True, held_for_overlap=False
        )

    def lease_expired(self, now: datetime) -> "ScheduleRunQuerySet":
        """Runs a worker held and stopped renewing (followed runs hold no lease)."""
        # Ordered by the run_lease_idx column: the default (-pk) order made SQLite walk
        # the whole table backwards to find a few running rows.
        return self.filter(status=RunStatus.RUNNING, lease_expires_at__lt=now).order_by(
            "lease_expires_at"
        )

    def due_for_check(self, now: datetime) -> "ScheduleRunQuerySet":
        """The followers' work: runs in flight to check, cancel or re-attach, and
        finished runs whose session and trace wait to be imported."""
        return self.filter(next_check_at__lte=now).order_by("next_check_at")

    def in_flight_on(self, target_id: int) -> "ScheduleRunQuerySet":
        """Runs that occupy one of the target's run slots right now."""
        return self.filter(
            status=RunStatus.RUNNING,
            schedule__target_id=target_id,
            stage__in=(
                RunStage.SUBMITTING,
                RunStage.FOLLOWING,
                RunStage.REATTACHING,
                RunStage.CANCELLING,
                RunStage.ANSWERING,
            ),
        )

    def awaiting_answer(self) -> "ScheduleRunQuerySet":
        """Paused runs waiting for a person, oldest pause first (run_paused_idx)."""
        return self.filter(status=RunStatus.PAUSED).order_by("paused_at", "pk")

    def pause_expired(self, now: datetime) -> "ScheduleRunQuerySet":
        """Paused runs whose schedule's pause timeout has passed (run_paused_idx)."""
        return self.filter(status=RunStatus.PAUSED, pause_expires_at__lte=now).order_by(
            "pause_expires_at", "pk"
        )


class ScheduleRun(models.Model):
    schedule = models.ForeignKey(
        "scheduler_admin.Schedule", on_delete=models.CASCADE, related_name="runs"
    )
    attempt = models.PositiveSmallIntegerField(default=1)
    scheduled_for = models.DateTimeField(help_text="The scheduled time this run belongs to.")
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.SCHEDULE)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    # Dispatch bookkeeping: a queued run waits until not_before, then is handed to
    # django-q2 (dispatched_at). held_for_overlap keeps a buffer_one run back until
    # the schedule's running run ends.
    not_before = models.DateTimeField(default=timezone.now)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    held_for_overlap = models.BooleanField(default=False)
    dispatch_count = models.PositiveSmallIntegerField(
        default=0, help_text="Times the run was sent again because no worker started it."
    )
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    request_sent_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    run_id = models.CharField(max_length=64, blank=True)
    session_id = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    input = models.JSONField(null=True, blank=True)
    output = models.JSONField(null=True, blank=True)
    requirements = models.JSONField(null=True, blank=True)
    missed_count = models.PositiveIntegerField(
        default=0, help_text="Scheduled times missed during downtime that this run stands for."
    )
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    worker = models.CharField(max_length=128, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # Durable agent calls (engine/execution.py, engine/follow.py): the stage of a
    # running run, when a follower looks at it next, and the wall-clock deadline
    # (database clock) by which it must end.
    stage = models.CharField(max_length=16, choices=RunStage.choices, blank=True, default="")
    next_check_at = models.DateTimeField(null=True, blank=True)
    follower = models.CharField(max_length=128, blank=True)
    deadline_at = models.DateTimeField(null=True, blank=True)
    checks = models.PositiveIntegerField(default=0, help_text="Status checks made so far.")
    reattach_count = models.PositiveSmallIntegerField(
        default=0, help_text="Times the run was picked up again after something died."
    )
    reattachments = models.JSONField(
        default=list, blank=True, help_text="What was re-attached, when and why."
    )
    import_status = models.CharField(
        max_length=8, choices=ImportStatus.choices, blank=True, default=""
    )
    # The request as it was when the run was queued: an edit of the schedule
    # afterwards does not change what this run sends.
    request = models.JSONField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Human in the loop (engine/approvals.py): when the run paused for a person, until
    # when it may wait, and the last answer given (who, when, what was sent).
    paused_at = models.DateTimeField(null=True, blank=True)
    pause_expires_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_by_name = models.CharField(max_length=150, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answer = models.JSONField(null=True, blank=True)

    objects = ScheduleRunQuerySet.as_manager()

    class Meta:
        db_table = "agno_schedule_runs"
        ordering = ["-pk"]
        constraints = [
            # The last guard against firing one scheduled time twice.
            models.UniqueConstraint(
                fields=["schedule", "scheduled_for", "attempt"], name="run_once_per_time_attempt"
            ),
        ]
        indexes = [
            # Run history: newest first (pk order), filtered by status or schedule.
            models.Index(fields=["status", "-id"], name="run_status_idx"),
            models.Index(fields=["schedule", "-id"], name="run_schedule_idx"),
            models.Index(fields=["-queued_at"], name="run_queued_at_idx"),
            models.Index(fields=["run_id"], name="run_run_id_idx"),
            models.Index(fields=["session_id"], name="run_session_id_idx"),
            # The dispatcher and the lease reaper only look at the few active rows.
            models.Index(
                fields=["not_before"],
                name="run_dispatch_idx",
                condition=models.Q(status="queued"),
            ),
            # Overlap checks: a schedule's running and queued runs, never its history.
            models.Index(
                fields=["schedule"],
                name="run_running_schedule_idx",
                condition=models.Q(status="running"),
            ),
            models.Index(
                fields=["schedule", "not_before"],
                name="run_queued_schedule_idx",
                condition=models.Q(status="queued"),
            ),
            # Retries of a run (run page, retry, prune's SET NULL). Nearly every run has
            # no retry_of: once ANALYZEd, SQLite judges the plain FK index useless and
            # scans the table; this one holds only the retries.
            models.Index(
                fields=["retry_of"],
                name="run_retry_of_idx",
                condition=models.Q(retry_of__isnull=False),
            ),
            models.Index(
                fields=["lease_expires_at"],
                name="run_lease_idx",
                condition=models.Q(status="running"),
            ),
            # The approvals inbox, its navigation count and the expiry step: the few
            # paused runs, never the history.
            models.Index(
                fields=["paused_at"],
                name="run_paused_idx",
                condition=models.Q(status="paused"),
            ),
            # The followers only look at runs with a check due.
            models.Index(
                fields=["next_check_at"],
                name="run_follow_idx",
                condition=models.Q(next_check_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.schedule_id}@{self.scheduled_for:%Y-%m-%d %H:%M:%S} #{self.attempt}"

    @property
    def idempotency_key(self) -> str:
        """Stable across redeliveries of one attempt, different for the next attempt."""
        # Microseconds: a manual trigger may share a second with another firing.
        when = self.scheduled_for.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        return f"sched-{self.schedule_id}-{when}-{self.attempt}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def reattach_changes(self, note: str) -> dict:
        """The fields a conditional UPDATE sets when the run is picked up again: one more
        re-attach, and ``note`` added to the last 20 (shown on the run page)."""
        notes = [*(self.reattachments or []), {"at": timezone.now().isoformat(), "note": note}]
        return {"reattach_count": models.F("reattach_count") + 1, "reattachments": notes[-20:]}

    @property
    def session_key(self) -> str:
        """The session id we give the agent server for this attempt, unless the payload
        names its own: after a lost answer, the run is found again by it."""
        return self.idempotency_key

    @property
    def is_cancellable(self) -> bool:
        return self.status in ACTIVE_STATUSES and self.stage != RunStage.CANCELLING

    @property
    def is_awaiting_answer(self) -> bool:
        return self.status == RunStatus.PAUSED

    @property
    def is_retryable_by_operator(self) -> bool:
        return self.status in (*FAILED_STATUSES, RunStatus.CANCELLED, RunStatus.PAUSED)
