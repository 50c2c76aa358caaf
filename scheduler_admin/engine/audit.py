"""Write audit entries for what people (and the engine) do to schedules and runs."""

from scheduler_admin.models import AuditEntry, Schedule, ScheduleRun


def record(
    user,
    action: str,
    schedule: Schedule,
    *,
    run: ScheduleRun | None = None,
    changes: dict | None = None,
    note: str = "",
) -> AuditEntry:
    actor = user if getattr(user, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        actor=actor,
        actor_name=actor.get_username() if actor else "system",
        action=action,
        schedule=schedule if schedule.pk else None,
        schedule_name=schedule.name,
        run=run,
        changes=changes or {},
        note=note[:500],
    )
