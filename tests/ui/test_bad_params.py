"""Query strings and forms with odd values: the filter is ignored and the page says
so, never a server error."""

import html

import pytest
from django.urls import reverse

from scheduler_admin.models import RunStatus, ScheduleRun
from tests.factories import make_run, make_schedule

BAD_RUN_FILTERS = [
    ("schedule", "a\x00b"),  # anything else is a schedule's name
    ("schedule", "99999999999999999999999"),
    ("before", "abc"),
    ("before", "²"),
    ("after", "-1"),
    ("after", "99999999999999999999999"),
    ("since", "bad date"),
    ("since", "2026-13-45"),
    ("until", "2026-02-30T25:00"),
    ("status", "bogus"),
    ("trigger", "bogus"),
    ("size", "²"),
    ("q", "a\x00b"),
    ("target", "\x00"),
]


@pytest.mark.parametrize(("name", "value"), BAD_RUN_FILTERS)
def test_run_list_ignores_a_bad_filter_value_and_says_which(as_viewer, name, value):
    run = make_run(make_schedule(), status=RunStatus.SUCCESS)
    response = as_viewer.get(reverse("run_list"), {name: value})
    assert response.status_code == 200
    assert [r.pk for r in response.context["page"].rows] == [run.pk]
    page = html.unescape(response.content.decode())
    assert f"Ignored {name}=" in page


def test_good_filter_values_give_no_ignored_note(as_viewer):
    schedule = make_schedule()
    make_run(schedule, status=RunStatus.FAILED)
    params = {"schedule": schedule.pk, "status": "failed", "since": "2020-01-01", "size": "10"}
    response = as_viewer.get(reverse("run_list"), params)
    assert len(response.context["page"].rows) == 1
    assert b"Ignored" not in response.content


@pytest.mark.parametrize("name", ["audit_list", "schedule_detail"])
def test_other_keyset_pages_say_a_bad_cursor_was_ignored(as_viewer, name):
    schedule = make_schedule()
    make_run(schedule)
    args = [schedule.pk] if name == "schedule_detail" else []
    response = as_viewer.get(reverse(name, args=args), {"before": "²"})
    assert response.status_code == 200
    assert "Ignored before=" in html.unescape(response.content.decode())


def test_schedule_list_ignores_nul_in_search(as_viewer):
    make_schedule(name="alpha")
    response = as_viewer.get(reverse("schedule_list"), {"q": "al\x00"})
    assert response.status_code == 200
    assert "alpha" in response.content.decode()
    assert "Ignored q=" in html.unescape(response.content.decode())


def test_bulk_retry_skips_non_ascii_digits(as_operator):
    run = make_run(make_schedule(), status=RunStatus.FAILED)
    response = as_operator.post(
        reverse("run_bulk_retry"), {"run": ["²", str(run.pk), "1" * 30], "confirmed": "yes"}
    )
    assert response.status_code == 302
    assert list(ScheduleRun.objects.filter(retry_of=run).values_list("retry_of", flat=True)) == [
        run.pk
    ]


def test_bulk_enable_skips_non_ascii_digits(as_operator):
    schedule = make_schedule(enabled=False)
    response = as_operator.post(
        reverse("schedule_bulk"),
        {"action": "enable", "schedule": ["²", str(schedule.pk)], "confirmed": "yes"},
    )
    assert response.status_code == 302
    schedule.refresh_from_db()
    assert schedule.enabled
