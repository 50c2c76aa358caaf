from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from scheduler_admin.engine.retention import prune
from scheduler_admin.models import RunStatus, ScheduleRun
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
    assert '<svg class="timeline"' in page
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
    assert b"Runs in the last 24 h" in response.content


@pytest.mark.parametrize("n", [5, 50])
def test_dashboard_query_count_does_not_grow_with_rows(as_viewer, django_assert_max_num_queries, n):
    _runs(n)
    # 9 for the page, 2 for retention (pruned in the last 24 h, oldest run kept), 1 for
    # the open incidents.
    with django_assert_max_num_queries(12):
        as_viewer.get(reverse("dashboard"))


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
