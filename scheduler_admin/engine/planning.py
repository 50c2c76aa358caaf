"""Which scheduled times to fire for a due schedule, by its catch-up policy. Pure."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim

from scheduler_admin import cron
from scheduler_admin.models import CatchUpPolicy

# Times inside the catch-up window are listed one by one, the last MAX_LISTED of them;
# times before the window are only counted, by whole days (see count_fire_times), so
# a schedule a year late costs a few hundred steps, not half a million.
MAX_LISTED = 1500
# Where the latest due time is looked for first: most late schedules fire often.
_LOOKBACKS = (timedelta(hours=1), timedelta(days=1), timedelta(days=32))


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
    ``window_s``: older due times are counted as missed, never fired. Under 'none' the
    latest due time still fires if it is no later than ``late_after_s``: the stall
    ended just after it, so it is on time.
    """
    after_due = _next_or_none(cron_expr, tz_name, due_at)
    if after_due is None or after_due > now:  # one due time: on time, or a late firing
        if (now - due_at).total_seconds() <= late_after_s:
            return FiringPlan(fire=[due_at], next_run_at=after_due)
    next_run_at = _next_or_none(cron_expr, tz_name, now)
    window_start = max(due_at, now - timedelta(seconds=window_s))
    latest = latest_fire_time(cron_expr, tz_name, due_at, now)
    total = count_fire_times(cron_expr, tz_name, due_at, now)  # due times in [due_at, now]
    if policy == CatchUpPolicy.NONE and (now - latest).total_seconds() <= late_after_s:
        # 'none' skips missed times, not the one due just now: the stall ended after it.
        return FiringPlan(fire=[latest], missed=total - 1, next_run_at=next_run_at)
    if policy == CatchUpPolicy.NONE or latest < window_start:
        return FiringPlan(skip=latest, missed=total, next_run_at=next_run_at)
    if policy == CatchUpPolicy.ALL:
        fire = _walk(cron_expr, tz_name, window_start, now)[-min(max_runs, MAX_LISTED) :]
        return FiringPlan(fire=fire, missed=total - len(fire), next_run_at=next_run_at, late=True)
    # LATEST: one run stands for all the missed times.
    return FiringPlan(fire=[latest], missed=total - 1, next_run_at=next_run_at, late=True)


def _next_or_none(cron_expr: str, tz_name: str, after: datetime) -> datetime | None:
    return next(cron.fire_times(cron_expr, tz_name, after), None)


def _walk(cron_expr: str, tz_name: str, first: datetime, last: datetime) -> list[datetime]:
    """Fire times in [first, last], ``first`` included when it is one."""
    times = []
    for instant in cron.fire_times(cron_expr, tz_name, first - timedelta(microseconds=1)):
        if instant > last:
            break
        times.append(instant)
    return times


def latest_fire_time(cron_expr: str, tz_name: str, due_at: datetime, now: datetime) -> datetime:
    """The last fire time in [due_at, now] (``due_at`` is one), found by walking a short
    stretch before ``now`` first and a longer one only if that held none."""
    for lookback in _LOOKBACKS:
        start = now - lookback
        if start <= due_at:
            break
        times = _walk(cron_expr, tz_name, start, now)
        if times:
            return times[-1]
    times = _walk(cron_expr, tz_name, due_at, now)
    return times[-1] if times else due_at


def count_fire_times(cron_expr: str, tz_name: str, first: datetime, last: datetime) -> int:
    """How many fire times lie in [first, last], without walking them one by one.

    The partial days at both ends are walked; the whole local days between are counted
    as (matching days) × (minutes × hours per day). A whole day whose clock changes
    (DST) counts the same as any other, so the figure can be off by that hour's
    matches on such days: it is a count of missed times, shown, never fired.
    """
    tz = ZoneInfo(tz_name)
    day_start = _local_midnight(first, tz) + timedelta(days=1)
    day_end = _local_midnight(last, tz)
    if (day_end - day_start).days < 2:
        return len(_walk(cron_expr, tz_name, first, last))
    head = _walk(cron_expr, tz_name, first, _aware(day_start, tz) - timedelta(microseconds=1))
    tail = _walk(cron_expr, tz_name, _aware(day_end, tz), last)
    return len(head) + _whole_days(cron_expr, day_start, day_end) + len(tail)


def _local_midnight(instant: datetime, tz: ZoneInfo) -> datetime:
    """The local calendar day of ``instant``, as a naive midnight."""
    return instant.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)


def _aware(day: datetime, tz: ZoneInfo) -> datetime:
    # A midnight inside a DST gap maps past it: still the start of that day's matches.
    return day.replace(tzinfo=tz)


def _whole_days(cron_expr: str, day_start: datetime, day_end: datetime) -> int:
    """Matches on the local days [day_start, day_end) (naive midnights)."""
    _, _, dom, month, dow = cron_expr.split()
    per_day = CronSim(cron_expr, day_start)
    per_day = len(per_day.minutes) * len(per_day.hours)
    # The same day fields at 00:00: cronsim steps once per matching day.
    days = 0
    for day in CronSim(f"0 0 {dom} {month} {dow}", day_start - timedelta(minutes=1)):
        if day >= day_end:
            break
        days += 1
    return days * per_day
