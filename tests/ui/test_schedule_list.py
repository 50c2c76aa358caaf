import pytest
from django.urls import reverse

from scheduler_admin.models import RunStatus, Schedule
from tests.factories import make_run, make_schedule


def test_list_shows_schedules_with_last_status_and_a_strip_of_50_firings(as_viewer):
    schedule = make_schedule(name="digest")
    for i, status in enumerate([RunStatus.SUCCESS] * 55 + [RunStatus.FAILED]):
        make_run(
            schedule, scheduled_for=f"2026-01-01T{i // 60:02d}:{i % 60:02d}:00Z", status=status
        )
    # A firing that needed a retry is one cell, its latest attempt.
    first = make_run(schedule, scheduled_for="2026-01-02T00:00:00Z", status=RunStatus.FAILED)
    make_run(
        schedule,
        scheduled_for="2026-01-02T00:00:00Z",
        attempt=2,
        retry_of=first,
        status=RunStatus.SUCCESS,
    )
    response = as_viewer.get(reverse("schedule_list"))
    page = response.content.decode()
    assert "digest" in page
    assert '<svg class="strip"' in page and 'width="300"' in page  # fixed width
    rows = dict((s.name, runs) for s, runs in response.context["rows"])
    assert len(rows["digest"]) == 50  # the last 50 firings only
    assert [r.status for r in rows["digest"][-2:]] == [RunStatus.FAILED, RunStatus.SUCCESS]
    assert rows["digest"][-1].attempt == 2
    assert "after 2 attempts" in page


def test_search_and_filters(as_viewer):
    make_schedule(name="alpha report")
    off = make_schedule(name="beta report", enabled=False)
    failing = make_schedule(name="gamma")
    Schedule.objects.filter(pk=failing.pk).update(consecutive_failures=2)
    Schedule.objects.filter(pk=off.pk).update(paused_reason="holiday")

    def names(**params):
        response = as_viewer.get(reverse("schedule_list"), params)
        return [s.name for s, _ in response.context["rows"]]

    assert names(q="report") == ["alpha report", "beta report"]
    assert names(enabled="no") == ["beta report"]
    assert names(paused="yes") == ["beta report"]
    assert names(failing="yes") == ["gamma"]
    assert names(target="local") == ["alpha report", "beta report", "gamma"]
    assert names(target="elsewhere") == []


def test_bulk_disable_asks_to_confirm_then_says_how_many_changed(as_operator):
    a, b = make_schedule(name="a1"), make_schedule(name="b1")
    c = make_schedule(name="c1", enabled=False)
    ids = [a.pk, b.pk, c.pk]
    confirm = as_operator.post(reverse("schedule_bulk"), {"action": "disable", "schedule": ids})
    assert confirm.status_code == 200
    assert b"Disable 3 schedules?" in confirm.content
    assert Schedule.objects.filter(enabled=True).count() == 2  # nothing changed yet
    done = as_operator.post(
        reverse("schedule_bulk"),
        {"action": "disable", "schedule": ids, "confirmed": "yes"},
        follow=True,
    )
    assert "Disabled 2 schedule(s) (1 already disabled)." in done.content.decode()
    assert not Schedule.objects.filter(enabled=True).exists()


def test_viewer_cannot_bulk_enable(as_viewer):
    s = make_schedule(enabled=False)
    response = as_viewer.post(
        reverse("schedule_bulk"), {"action": "enable", "schedule": [s.pk], "confirmed": "yes"}
    )
    assert response.status_code == 403
    assert not Schedule.objects.get(pk=s.pk).enabled


def test_name_is_escaped(as_admin):
    make_schedule(name="ok name")
    Schedule.objects.filter(name="ok name").update(name="<script>alert(1)</script>")
    page = as_admin.get(reverse("schedule_list")).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize("n", [5, 50])
def test_query_count_is_constant(as_viewer, django_assert_max_num_queries, n):
    for i in range(n):
        s = make_schedule(name=f"s{i:03d}")
        make_run(s, status=RunStatus.SUCCESS)
        make_run(s, scheduled_for="2026-01-02T00:00:00Z", status=RunStatus.FAILED)
    with django_assert_max_num_queries(8):
        response = as_viewer.get(reverse("schedule_list"))
    assert len(response.context["rows"]) == n
