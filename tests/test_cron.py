"""Cron maths: 5-field expressions in IANA zones, with Debian cron's DST rules."""

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler_admin.cron import explain, fire_times, is_wildcard_time, next_fire_time


def local_fires(expr, tz, start, until):
    zone = ZoneInfo(tz)
    out = []
    for t in fire_times(expr, tz, start):
        if t >= until:
            return out
        out.append(t.astimezone(zone))
    return out


def test_spring_forward_day_fires_a_0230_job_once_at_the_first_valid_instant():
    fires = local_fires(
        "30 2 * * *",
        "America/New_York",
        datetime(2026, 3, 7, 12, tzinfo=UTC),
        datetime(2026, 3, 9, 12, tzinfo=UTC),
    )
    on_the_day = [f for f in fires if f.date().isoformat() == "2026-03-08"]
    assert [f.strftime("%H:%M %Z") for f in on_the_day] == ["03:00 EDT"]


def test_fall_back_day_fires_a_0130_job_once():
    fires = local_fires(
        "30 1 * * *",
        "America/New_York",
        datetime(2026, 10, 31, 12, tzinfo=UTC),
        datetime(2026, 11, 2, 12, tzinfo=UTC),
    )
    assert [f.strftime("%m-%d %H:%M %Z") for f in fires] == ["11-01 01:30 EDT", "11-02 01:30 EST"]


def test_fall_back_day_in_berlin_fires_a_0230_job_once():
    fires = local_fires(
        "30 2 * * *",
        "Europe/Berlin",
        datetime(2026, 10, 24, 12, tzinfo=UTC),
        datetime(2026, 10, 26, 12, tzinfo=UTC),
    )
    assert [f.strftime("%m-%d %H:%M %Z") for f in fires] == ["10-25 02:30 CEST", "10-26 02:30 CET"]


def test_wildcard_hour_job_follows_the_new_time_through_the_repeated_hour():
    # Debian cron(8): jobs with '*' in the minute or hour field run by the new time.
    fires = local_fires(
        "30 * * * *",
        "America/New_York",
        datetime(2026, 11, 1, 4, tzinfo=UTC),
        datetime(2026, 11, 1, 9, tzinfo=UTC),
    )
    assert [f.strftime("%H:%M %Z") for f in fires] == [
        "00:30 EDT",
        "01:30 EDT",
        "01:30 EST",
        "02:30 EST",
        "03:30 EST",
    ]


def test_first_fire_after_a_time_inside_the_repeated_hour_is_not_the_repeat():
    after = datetime(2026, 11, 1, 5, 40, tzinfo=UTC)  # 01:40 EDT, first pass of the hour
    assert next_fire_time("30 1 * * *", "America/New_York", after) == datetime(
        2026, 11, 2, 6, 30, tzinfo=UTC
    )


def test_explain_is_human_readable():
    assert explain("0 9 * * 1-5") == "At 09:00 on Monday through Friday"


def test_wildcard_detection_follows_debian():
    assert is_wildcard_time("*/5 3 * * *")
    assert is_wildcard_time("0 * * * *")
    assert not is_wildcard_time("0,30 1-3 * * *")


ZONES = [
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "America/Sao_Paulo",
    "Pacific/Chatham",
    "Asia/Kolkata",
    "America/Santiago",
    "Europe/London",
    "Africa/Casablanca",
]


def _field(low, high):
    value = st.integers(low, high)
    return st.one_of(
        st.just("*"),
        value.map(str),
        st.integers(2, 6).map(lambda n: f"*/{n}"),
        st.tuples(value, value).map(lambda ab: f"{min(ab)}-{max(ab)}"),
        st.lists(value, min_size=2, max_size=3, unique=True).map(
            lambda xs: ",".join(map(str, sorted(xs)))
        ),
    )


EXPRESSIONS = st.tuples(
    _field(0, 59),
    _field(0, 23),
    st.sampled_from(["*", "1", "1-15", "*/2"]),
    st.sampled_from(["*", "3", "3,10,11", "1-6"]),
    st.sampled_from(["*", "0", "1-5", "6"]),
).map(" ".join)

STARTS = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


def _matches(expr: str, wall: datetime) -> bool:
    naive = wall.replace(tzinfo=None, second=0, microsecond=0)
    return next(CronSim(expr, naive - timedelta(minutes=1))) == naive


@settings(max_examples=300, deadline=None)
@given(expr=EXPRESSIONS, tz=st.sampled_from(ZONES), start=STARTS)
def test_fire_times_increase_match_local_time_and_never_repeat_a_fixed_wall_time(expr, tz, start):
    zone = ZoneInfo(tz)
    fires = list(itertools.islice(fire_times(expr, tz, start), 40))
    assert fires[0] > start
    assert all(a < b for a, b in itertools.pairwise(fires)), "fire times strictly increase"
    for instant in fires:
        wall = instant.astimezone(zone)
        if not _matches(expr, wall):
            # Only allowed for a fixed-time job whose wall time fell in a DST gap: it
            # fires at the first instant after the gap, where the offset just changed.
            assert not is_wildcard_time(expr)
            before = (instant - timedelta(seconds=1)).astimezone(zone).utcoffset()
            assert before != wall.utcoffset(), f"{wall} does not match {expr!r}"
    walls = [f.astimezone(zone).replace(tzinfo=None) for f in fires]
    if not is_wildcard_time(expr):
        assert len(walls) == len(set(walls)), "no local wall time fires twice"
    else:
        # Wildcard jobs repeat a wall time only inside a fall-back hour, at two offsets.
        repeated = {w for w in walls if walls.count(w) > 1}
        for w in repeated:
            offsets = {
                f.astimezone(zone).utcoffset()
                for f in fires
                if f.astimezone(zone).replace(tzinfo=None) == w
            }
            assert len(offsets) == 2
