"""Sessions, traces and spans of agent runs, as AgentOS models them."""

from django.db import models


class AgentSession(models.Model):
    session_id = models.CharField(max_length=64, unique=True)
    session_type = models.CharField(max_length=16, blank=True)  # agent | team | workflow
    component_id = models.CharField(max_length=128, blank=True)
    session_name = models.CharField(max_length=255, blank=True)
    user_id = models.CharField(max_length=128, blank=True)
    session_state = models.JSONField(null=True, blank=True)
    data = models.JSONField(null=True, blank=True)  # workflow_data / agent_data
    target = models.ForeignKey(
        "scheduler_admin.Target", null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "agno_sessions"
        ordering = ["-pk"]

    def __str__(self) -> str:
        return self.session_id


class Trace(models.Model):
    trace_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, default="UNSET")  # OK | ERROR | UNSET
    run_id = models.CharField(max_length=64, blank=True, db_index=True)
    session_id = models.CharField(max_length=64, blank=True, db_index=True)
    agent_id = models.CharField(max_length=128, blank=True)
    team_id = models.CharField(max_length=128, blank=True)
    workflow_id = models.CharField(max_length=128, blank=True)
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    total_spans = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    source = models.CharField(max_length=16, default="scheduler")  # scheduler | local | remote
    # Our own side of a firing (claim, submit, polls, completion) is a trace too, tied to
    # the schedule run even when the agent server gave no run_id (it was unreachable).
    schedule_run = models.ForeignKey(
        "scheduler_admin.ScheduleRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="traces",
    )
    target = models.ForeignKey(
        "scheduler_admin.Target", null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        db_table = "agno_traces"
        ordering = ["-pk"]

    def __str__(self) -> str:
        return self.trace_id


class Span(models.Model):
    trace = models.ForeignKey(Trace, on_delete=models.CASCADE, related_name="spans")
    span_id = models.CharField(max_length=64)
    parent_span_id = models.CharField(max_length=64, blank=True)
    name = models.CharField(max_length=255)
    span_type = models.CharField(max_length=32, blank=True)  # AGENT | WORKFLOW | STEP | HTTP ...
    status = models.CharField(max_length=16, default="UNSET")
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    input = models.TextField(blank=True)
    output = models.TextField(blank=True)
    error = models.TextField(blank=True)
    attributes = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "agno_spans"
        ordering = ["start_time", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["trace", "span_id"], name="span_unique_in_trace"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.span_id})"
