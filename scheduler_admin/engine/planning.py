"""Which scheduled times to fire for a due schedule, by its catch-up policy. Pure."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from scheduler_admin import cron
from scheduler_admin.models import CatchUpPolicy

# Counting missed times walks the cron sequence; stop counting past this many.
_MAX_COUNTED = 100_000


@dataclass
class FiringPlan:
    fire: list[datetime] = field(default_factory=list)  # scheduled times to run now
    skip: datetime | None = None  # a due time recorded as skipped (catch-up: none)
    missed: int = 0  # due times not fired
    next_run_at: datetime | None = None
    late: bool = False  # the first fired time is a catch-up, not an on-time firing


def plan_firing(
    *,
    cron_expr: str,
    tz_name: str,
    due_at: datetime,
    now: datetime,
    policy: str,
    window_s: int,
    max_runs: int,
    late_after_s: float,
) -> FiringPlan:
    """Plan one claim of a schedule whose next run time ``due_at`` has come.

    The next run time advances from the scheduled times, never from ``now``, so a
    late scheduler neither drifts nor silently loses a time.
    """
    due = [due_at]
    times = cron.fire_times(cron_expr, tz_name, due_at)
    next_run_at = next(times)
    while next_run_at <= now and len(due) < _MAX_COUNTED:
        due.append(next_run_at)
        next_run_at = next(times)
    if next_run_at <= now:  # counted enough: jump ahead without counting further
        next_run_at = cron.next_fire_time(cron_expr, tz_name, now)

    latest = due[-1]
    on_time = len(due) == 1 and (now - latest).total_seconds() <= late_after_s
    if on_time:
        return FiringPlan(fire=[latest], next_run_at=next_run_at)

    window_start = now - timedelta(seconds=window_s)
    if policy == CatchUpPolicy.NONE:
        return FiringPlan(skip=latest, missed=len(due), next_run_at=next_run_at)
    if policy == CatchUpPolicy.ALL:
        in_window = [t for t in due if t >= window_start][-max_runs:]
        return FiringPlan(
            fire=in_window,
            missed=len(due) - len(in_window),
            next_run_at=next_run_at,
            late=True,
        )
    # LATEST: one run stands for all the missed times.
    return FiringPlan(fire=[latest], missed=len(due) - 1, next_run_at=next_run_at, late=True)
