"""How often a run in flight is looked at: often while young, at most every
FOLLOW_MAX_INTERVAL_S; a run of a known length rarely until just before its usual end,
then closely."""

from datetime import UTC, datetime, timedelta

from scheduler_admin.engine.follow import CLOSE_INTERVAL_S, FAR_INTERVAL_S, interval_s
from scheduler_admin.models import ScheduleRun

SENT = datetime(2026, 1, 1, tzinfo=UTC)


def at(age_s: float, expected_s: float | None = None) -> float:
    run = ScheduleRun(request_sent_at=SENT)
    return interval_s(run, SENT + timedelta(seconds=age_s), expected_s)


def test_a_run_of_unknown_length_is_looked_at_often_while_young_then_every_1_5_s():
    assert at(0.5) == 0.5
    assert at(10) == 1.0
    assert at(300) == 1.5  # FOLLOW_MAX_INTERVAL_S


def test_a_run_of_known_length_is_looked_at_rarely_until_just_before_its_usual_end():
    assert at(1, expected_s=30) == FAR_INTERVAL_S
    # Lands one check interval and half a second before the usual end...
    assert at(20, expected_s=30) == 8.0
    # ...then closely, until well past it.
    assert at(28, expected_s=30) == CLOSE_INTERVAL_S
    assert at(37, expected_s=30) == CLOSE_INTERVAL_S
    assert at(60, expected_s=30) == 1.5  # far longer than usual: the plain back-off


def test_a_long_run_of_known_length_costs_a_few_checks_not_hundreds():
    age, checks = 0.5, 0
    while age < 600:
        age += at(age, expected_s=600)
        checks += 1
    assert checks < 70  # 10 s apart for ten minutes, closely for the last seconds
