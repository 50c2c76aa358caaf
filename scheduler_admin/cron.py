"""Pure schedule maths: 5-field cron in an IANA timezone, with Debian cron's DST rules.

cronsim does the calendar matching on *naive wall-clock* times; this module maps
each wall time to real instants the way Debian's cron(8) does:

- Spring forward (a wall time that does not exist): a job with a fixed minute and
  hour fires once, at the first valid instant after the gap; a job with ``*`` in
  its minute or hour field follows the new time and simply has no run in the gap.
- Fall back (a wall time that exists twice): a fixed-time job fires once, at the
  first occurrence; a ``*`` job runs by the new time, so it fires in both.

cronsim (and croniter) alone get this wrong in places: croniter 7.0.0 fires a daily
01:30 job twice on America/New_York's fall-back day; cronsim skips ``*/20 2 * * *``
entirely on the spring-forward day.
"""

import heapq
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

__all__ = ["CronSimError", "explain", "fire_times", "next_fire_time", "is_wildcard_time"]

# The widest DST shift we plan for (Troll, Antarctica: 2 h). Wall times more than this
# apart can never swap order once mapped to real instants.
_MAX_SHIFT = timedelta(hours=3)
# Leap-day weekday combinations repeat within 28 years; nothing valid is rarer.
_HORIZON = timedelta(days=366 * 29)


def is_wildcard_time(expr: str) -> bool:
    """Debian's rule: a job with '*' opening its minute or hour field is a wildcard job."""
    minute, hour = expr.split()[:2]
    return minute.startswith("*") or hour.startswith("*")


def _instants(wall: datetime, tz: tzinfo, wildcard: bool) -> list[datetime]:
    """The UTC instants at which one matching wall time fires (zero, one or two)."""
    first = wall.replace(tzinfo=tz, fold=0)
    second = wall.replace(tzinfo=tz, fold=1)
    off_first, off_second = first.utcoffset(), second.utcoffset()
    if off_first == off_second:
        return [first.astimezone(UTC)]
    # The offsets differ: the wall time is either repeated (fall back) or missing.
    round_trip = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if round_trip == wall:  # repeated: exists at both offsets
        if wildcard:
            return [first.astimezone(UTC), second.astimezone(UTC)]
        return [first.astimezone(UTC)]
    if wildcard:  # missing: wildcard jobs follow the new time and skip the gap
        return []
    return [_gap_end(first, second, tz)]


def _gap_end(first: datetime, second: datetime, tz: tzinfo) -> datetime:
    """The first valid instant after a spring-forward gap (the transition itself)."""
    lo, hi = sorted((first.astimezone(UTC), second.astimezone(UTC)))
    after_offset = hi.astimezone(tz).utcoffset()
    # Bisect on whole seconds: tz transitions happen on second boundaries.
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if mid.astimezone(tz).utcoffset() == after_offset:
            hi = mid
        else:
            lo = mid
    return hi


def _shift_near(instant: datetime, tz: tzinfo) -> timedelta:
    """How far the zone's offset moves within _MAX_SHIFT of ``instant`` (0 if it does not)."""
    before = (instant - _MAX_SHIFT).astimezone(tz).utcoffset()
    after = (instant + _MAX_SHIFT).astimezone(tz).utcoffset()
    return abs(after - before)


def fire_times(expr: str, tz_name: str, after: datetime) -> Iterator[datetime]:
    """Yield the aware UTC instants, strictly after ``after``, at which ``expr`` fires."""
    tz = ZoneInfo(tz_name)
    wildcard = is_wildcard_time(expr)
    # Near a transition, start earlier in wall time: `after` may sit inside a repeated hour.
    local_after = after.astimezone(tz)
    start_wall = (local_after - _shift_near(after, tz)).replace(tzinfo=None)
    pending: list[datetime] = []
    last: datetime = after
    # An expression whose only matches fall in DST gaps (wildcard jobs skip those) would
    # otherwise be walked to the year 9999: give up after a horizon.
    give_up_at = start_wall + _HORIZON
    for wall in CronSim(expr, start_wall.replace(second=0, microsecond=0)):
        if wall > give_up_at:
            break
        instants = _instants(wall, tz, wildcard)
        for instant in instants:
            heapq.heappush(pending, instant)
        # A later wall time can map to an earlier instant only across a DST change,
        # and by at most that change: what lies below this horizon is final.
        earliest = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
        horizon = earliest - _shift_near(earliest, tz)
        while pending and pending[0] <= horizon:
            instant = heapq.heappop(pending)
            if instant > last:
                last = instant
                yield instant
    while pending:  # the sequence ended: what is left is in order
        instant = heapq.heappop(pending)
        if instant > last:
            last = instant
            yield instant


def next_fire_time(expr: str, tz_name: str, after: datetime) -> datetime:
    """The first fire time strictly after ``after`` (aware UTC); StopIteration if none."""
    return next(fire_times(expr, tz_name, after))


def explain(expr: str) -> str:
    """A human-readable description, e.g. 'At 09:00 on Monday through Friday'."""
    return CronSim(expr, datetime(2000, 1, 1)).explain()


# Each field's name, allowed numbers and names, in expression order.
FIELD_RANGES = (
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day-of-month", "1-31"),
    ("month", "1-12 or JAN-DEC"),
    ("day-of-week", "0-7 (0 and 7 are Sunday) or SUN-SAT"),
)
_PROBES = ("{} * * * *", "* {} * * *", "* * {} * *", "* * * {} *", "* * * * {}")


def describe_error(expr: str, exc: CronSimError) -> str:
    """cronsim's "Bad minute." as a sentence naming the field, what it holds and the
    allowed range; or "never fires" when every field is valid alone but the days
    cannot occur (``0 0 30 2 *``: February has no 30th)."""
    fields = expr.split()
    for (name, allowed), probe, value in zip(FIELD_RANGES, _PROBES, fields, strict=False):
        try:
            CronSim(probe.format(value), datetime(2000, 1, 1))
        except CronSimError:
            return (
                f"The {name} field {value!r} is not valid: use {allowed}, *, "
                f"lists (1,15), ranges (1-5) or steps (*/10)."
            )
    if len(fields) == 5 and "day-of-month" in str(exc):
        return f"This expression never fires: no month in {fields[3]!r} has day {fields[2]!r}."
    return f"Invalid cron expression: {exc}."
