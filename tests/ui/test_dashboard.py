from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from scheduler_admin.engine.retention import prune
from scheduler_admin.models import RunStatus, Schedule, ScheduleRun, Trigger
from tests.factories import make_run, make_schedule


def _runs(n: int):
    schedule = make_schedule(name=f"busy-{n}")
    now = timezone.now()
    for i in range(n):
        make_run(
            schedule,
            scheduled_for=now - timedelta(minutes=i),
            queued_at=now - timedelta(minutes=i),
            status=[RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.RUNNING][i % 3],
        )
    return schedule


def test_dashboard_counts_last_24h_by_status(as_viewer):
    schedule = _runs(6)
    make_run(
        schedule,
        scheduled_for=timezone.now() - timedelta(days=3),
        queued_at=timezone.now() - timedelta(days=3),
        status=RunStatus.SUCCESS,
    )
    response = as_viewer.get(reverse("dashboard"))
    assert response.status_code == 200
    assert response.context["total_24h"] == 6
    assert dict(response.context["by_status"]) == {"success": 2, "failed": 2, "running": 2}
    page = response.content.decode()
    assert '<svg class="day-chart"' in page
    assert "Firings per hour, last 24 hours (UTC): 2 succeeded, 2 failed, 2 other" in page
    assert "In flight" in page


def test_dashboard_lists_failing_and_paused_schedules(as_viewer):
    failing = make_schedule(name="flaky")
    failing.consecutive_failures = 3
    failing.save()
    paused = make_schedule(name="on hold")
    paused.paused_reason = "vendor outage"
    paused.save()
    make_schedule(name="healthy")
    failing_names = [s.name for s in as_viewer.get(reverse("dashboard")).context["failing"]]
    assert failing_names == ["flaky", "on hold"]


def test_dashboard_htmx_refresh_renders_only_the_live_part(as_viewer):
    response = as_viewer.get(reverse("dashboard"), HTTP_HX_REQUEST="true")
    assert b"<html" not in response.content
    assert b"Firings in the last 24 h" in response.content


@pytest.mark.parametrize("n", [5, 50])
def test_dashboard_query_count_does_not_grow_with_rows(as_viewer, django_assert_max_num_queries, n):
    _runs(n)
    # The stamp the live dashboard sends back with its polls is one of them; 2 for
    # retention (pruned in the last 24 h, oldest run kept), 1 for the open incidents.
    with django_assert_max_num_queries(14):
        as_viewer.get(reverse("dashboard"))


def test_dashboard_counts_firings_not_attempts(as_viewer):
    """Issue 12: "failed 5" could mean five attempts of firings that all recovered."""
    schedule = make_schedule()
    now = timezone.now()
    for minute in range(2):
        when = now - timedelta(minutes=minute)
        previous = None
        for attempt, status in enumerate([RunStatus.FAILED, RunStatus.FAILED, RunStatus.SUCCESS]):
            previous = make_run(
                schedule,
                scheduled_for=when,
                queued_at=when,
                attempt=attempt + 1,
                retry_of=previous,
                status=status,
                trigger=Trigger.RETRY if previous else Trigger.SCHEDULE,
            )
    response = as_viewer.get(reverse("dashboard"))
    assert dict(response.context["by_status"]) == {"success": 2}
    assert response.context["total_24h"] == 2


def test_the_failing_card_shows_the_error_since_when_and_links_the_run(as_viewer):
    """Issue 12: no error, no "since", no link, and disabled schedules listed."""
    flaky = make_schedule(name="flaky")
    earlier = timezone.now() - timedelta(hours=2)
    make_run(flaky, status=RunStatus.SUCCESS, scheduled_for=earlier - timedelta(hours=1))
    make_run(flaky, status=RunStatus.FAILED, scheduled_for=earlier, queued_at=earlier)
    last = make_run(
        flaky, status=RunStatus.FAILED, error="upstream said 503", scheduled_for=timezone.now()
    )
    Schedule.objects.filter(pk=flaky.pk).update(consecutive_failures=2)
    switched_off = make_schedule(name="switched off")
    Schedule.objects.filter(pk=switched_off.pk).update(enabled=False, consecutive_failures=4)
    response = as_viewer.get(reverse("dashboard"))
    (row,) = response.context["failing"]
    assert row.name == "flaky" and row.last_failed_pk == last.pk
    assert row.failing_since == earlier
    page = response.content.decode()
    assert f'href="{reverse("run_detail", args=[last.pk])}"' in page
    assert "upstream said 503" in page and "first failed <time" in page and "2 h" in page
    assert "switched off" not in page


def test_an_overdue_next_fire_reads_late(as_viewer):
    """Issue 12: "Next fires" showed "(0 minutes)", and would for an overdue fire."""
    schedule = make_schedule(name="stuck")
    Schedule.objects.filter(pk=schedule.pk).update(
        next_run_at=timezone.now() - timedelta(minutes=3)
    )
    page = as_viewer.get(reverse("dashboard")).content.decode()
    assert 'class="late">late by 3 min</time>' in page
    assert "0 minutes" not in page


def test_the_live_dashboard_answers_204_until_a_run_is_added_or_ends(
    as_viewer, django_assert_max_num_queries
):
    schedule = make_schedule()
    with time_machine.travel(datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC), tick=False):
        running = make_run(schedule, status=RunStatus.RUNNING, queued_at=timezone.now())
        stamp = as_viewer.get(reverse("dashboard")).context["stamp"]

        def poll():
            return as_viewer.get(
                reverse("dashboard"), HTTP_HX_REQUEST="true", HTTP_X_LIVE_STAMP=stamp
            )

        with django_assert_max_num_queries(4):  # session, user, role, the runs in flight
            assert poll().status_code == 204
        running.status = RunStatus.SUCCESS
        running.save(update_fields=["status"])
        changed = poll()
        assert changed.status_code == 200 and b"Nothing running." in changed.content


def test_the_dashboard_shows_what_was_pruned_and_the_oldest_run_kept(as_viewer):
    schedule = make_schedule()
    for days_ago in (200, 10):
        when = timezone.now() - timedelta(days=days_ago)
        make_run(schedule, scheduled_for=when, queued_at=when, status=RunStatus.SUCCESS)
    prune(datetime.now(UTC))
    response = as_viewer.get(reverse("dashboard"))
    assert b"Retention" in response.content
    assert b"1 run pruned" in response.content
    oldest = ScheduleRun.objects.get().queued_at
    assert oldest.strftime("%Y-%m-%d").encode() in response.content
