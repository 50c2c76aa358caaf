"""make_* factories with sensible defaults; override any field."""

import itertools
from datetime import UTC, datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from scheduler_admin.engine.operations import create_schedule
from scheduler_admin.models import RunStatus, Schedule, ScheduleRun, Trigger

_seq = itertools.count(1)


def make_schedule(**overrides) -> Schedule:
    """A valid schedule through the real validation path (create_schedule)."""
    data = {
        "name": f"schedule-{next(_seq)}",
        "endpoint": "/noop",
        "cron_expr": "*/5 * * * *",
        "timezone": "UTC",
    }
    data.update(overrides)
    return create_schedule(data)


def make_run(schedule: Schedule, **overrides) -> ScheduleRun:
    fields = {
        "schedule": schedule,
        "scheduled_for": datetime(2026, 1, 1, tzinfo=UTC),
        "trigger": Trigger.SCHEDULE,
        "status": RunStatus.QUEUED,
        "input": schedule.payload,
    }
    fields.update(overrides)
    return ScheduleRun.objects.create(**fields)


# What a paused agno workflow run asks, as AgentOS sends it (step_requirements).
CONFIRM_STEP = [
    {
        "step_id": "s1",
        "step_name": "publish",
        "requires_confirmation": True,
        "confirmation_message": "Publish the digest?",
    }
]
INPUT_STEP = [
    {
        "step_id": "s2",
        "step_name": "charge",
        "requires_user_input": True,
        "user_input_message": "Which account?",
        "user_input_schema": [
            {"name": "account", "field_type": "str", "required": True},
            {"name": "amount", "field_type": "int", "required": True},
        ],
    }
]


def make_paused_run(requirements=None, schedule: Schedule | None = None, **overrides):
    """A workflow run on an AgentOS, paused for a person (what a follower stores)."""
    from django.utils import timezone

    if schedule is None:
        from scheduler_admin.models import Target

        server, _ = Target.objects.get_or_create(
            name="agent-server", defaults={"base_url": "http://127.0.0.1:9"}
        )
        schedule = make_schedule(endpoint="/workflows/publish/runs", target=server)
    fields = {
        "status": RunStatus.PAUSED,
        "run_id": f"agno-{next(_seq)}",
        "session_id": "sess-1",
        "requirements": requirements or CONFIRM_STEP,
        "paused_at": timezone.now(),
    }
    return make_run(schedule, **{**fields, **overrides})


def make_user(role: str | None = "viewer", username: str | None = None, password: str = "pw"):
    user = get_user_model().objects.create_user(
        username=username or f"{role or 'nobody'}-{next(_seq)}", password=password
    )
    if role:
        # get_or_create: a transactional test before this one may have flushed the
        # rows the migration made.
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def make_channel(kind: str = "webhook", url: str = "", **overrides):
    """An alert channel; ``url`` and a fresh signing key (webhooks) go in encrypted."""
    from scheduler_admin.alerts.secrets import new_signing_key
    from scheduler_admin.models import AlertChannel

    fields = {"name": f"channel-{next(_seq)}", "kind": kind}
    fields.update(overrides)
    channel = AlertChannel(**fields)
    values = {"url": url} if url else {}
    if kind == "webhook":
        values["signing_key"] = new_signing_key()
    channel.set_secrets(values)
    channel.save()
    return channel
