"""Which scheduled times to fire for a due schedule, by its catch-up policy. Pure."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from scheduler_admin import cron
from scheduler_admin.models import CatchUpPolicy

# Missed times are listed one by one only this far; past it they are counted as this
# many (the claim holds a lock, so it must not walk years of every-minute times).
MAX_LISTED = 1500
WALK_BUDGET = 20_000


@dataclass
class FiringPlan:
    fire: list[datetime] = field(default_factory=list)  # scheduled times to run now
    skip: datetime | None = None  # a due time recorded as skipped, with the missed count
    missed: int = 0  # due times not fired
    next_run_at: datetime | None = None  # None: the expression never fires again
    late: bool = False  # the fired times are a catch-up, not an on-time firing


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

    The next run time advances from the scheduled times, never from ``now``, so a late
    scheduler neither drifts nor silently loses a time. Catch-up looks back at most
    ``window_s``: older due times are counted as missed, never fired.
    """
    after_due = _next_or_none(cron_expr, tz_name, due_at)
    if after_due is None or after_due > now:  # one due time: on time, or a late firing
        if (now - due_at).total_seconds() <= late_after_s:
            return FiringPlan(fire=[due_at], next_run_at=after_due)
    next_run_at = _next_or_none(cron_expr, tz_name, now)

    window_start = now - timedelta(seconds=window_s)
    due, earlier = _due_times(cron_expr, tz_name, due_at, now, window_start)
    missed_total = len(due) + earlier
    if policy == CatchUpPolicy.NONE or not due:
        skipped = due[-1] if due else due_at
        return FiringPlan(skip=skipped, missed=missed_total, next_run_at=next_run_at)
    if policy == CatchUpPolicy.ALL:
        fire = due[-max_runs:]
        return FiringPlan(
            fire=fire, missed=missed_total - len(fire), next_run_at=next_run_at, late=True
        )
    # LATEST: one run stands for all the missed times.
    return FiringPlan(fire=[due[-1]], missed=missed_total - 1, next_run_at=next_run_at, late=True)


def _next_or_none(cron_expr: str, tz_name: str, after: datetime) -> datetime | None:
    return next(cron.fire_times(cron_expr, tz_name, after), None)


def _due_times(cron_expr, tz_name, due_at, now, window_start) -> tuple[list[datetime], int]:
    """Due times in [window_start, now] (the last MAX_LISTED of them), and how many
    earlier ones were missed. Past WALK_BUDGET steps the walk jumps to the window's
    start, and the earlier count is a lower bound."""
    due: list[datetime] = []
    earlier = 0
    times = cron.fire_times(cron_expr, tz_name, due_at)
    instant: datetime | None = due_at
    steps = 0
    while instant is not None and instant <= now:
        if instant >= window_start:
            due.append(instant)
        else:
            earlier += 1
        steps += 1
        if steps == WALK_BUDGET and instant < window_start:
            times = cron.fire_times(cron_expr, tz_name, window_start - timedelta(microseconds=1))
        instant = next(times, None)
    if len(due) > MAX_LISTED:
        earlier += len(due) - MAX_LISTED
        due = due[-MAX_LISTED:]
    return due, earlier
