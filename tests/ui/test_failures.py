"""The failures page: failed firings grouped by target and error signature."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from scheduler_admin.models import RunStatus, ScheduleRun, Trigger
from scheduler_admin.views.failures import error_signature
from tests.factories import make_run, make_schedule


@pytest.mark.parametrize(
    ("error", "signature"),
    [
        ("Connection refused by 10.0.0.7:8000", "Connection refused by <n>:<n>"),
        ("HTTP 503 from agent run_abc123: busy", "HTTP <n> from agent <id>: busy"),
        ("Run 4f3a2b1c9d failed", "Run <id> failed"),
        ("id 0d9e2a4c-1b2f-4c3d-9e8f-0a1b2c3d4e5f gone", "id <id> gone"),
        ("session sess-42 not found", "session <id> not found"),
        ("first line 5\nsecond line", "first line <n>"),
        ("", "(no error text)"),
    ],
)
def test_it_masks_numbers_and_ids(error, signature):
    assert error_signature(error) == signature


def _failed(schedule, minutes_ago, error, **fields):
    when = timezone.now() - timedelta(minutes=minutes_ago)
    return make_run(
        schedule, status=RunStatus.FAILED, error=error, scheduled_for=when, queued_at=when, **fields
    )


def test_it_groups_identical_errors_across_schedules(as_operator, django_assert_max_num_queries):
    a, b = make_schedule(name="alpha"), make_schedule(name="beta")
    _failed(a, 50, "Connection refused by 10.0.0.7:8000")
    _failed(b, 40, "Connection refused by 10.0.0.9:8001")
    newest = _failed(a, 30, "Connection refused by 10.0.0.7:8000")
    lonely = _failed(b, 20, "HTTP 422: payload rejected")
    # A firing that recovered is not a failure; a week-old one is out of the window.
    recovered = _failed(a, 10, "Connection refused by 10.0.0.7:8000")
    make_run(
        a,
        status=RunStatus.SUCCESS,
        attempt=2,
        retry_of=recovered,
        trigger=Trigger.RETRY,
        scheduled_for=recovered.scheduled_for,
    )
    _failed(a, 8 * 24 * 60, "Connection refused by 10.0.0.7:8000")
    with django_assert_max_num_queries(6):  # incl. the approvals count
        response = as_operator.get(reverse("failure_list"))
    groups = response.context["groups"]
    assert [(g.signature, g.count) for g in groups] == [
        ("Connection refused by <n>:<n>", 3),
        ("HTTP <n>: payload rejected", 1),
    ]
    big = groups[0]
    assert big.schedules == {a.pk: "alpha", b.pk: "beta"} and big.latest_pk == newest.pk
    assert big.last_seen == newest.queued_at and big.first_seen < big.last_seen
    assert groups[1].run_pks == [lonely.pk]
    page = response.content.decode()
    assert (
        "Retry this group…" in page and f'href="{reverse("run_detail", args=[newest.pk])}"' in page
    )


def test_retrying_a_group_confirms_then_retries_each_firing(as_operator):
    a = make_schedule(name="alpha")
    runs = [_failed(a, m, f"timeout after {m} s") for m in (30, 20, 10)]
    (group,) = as_operator.get(reverse("failure_list")).context["groups"]
    confirm = as_operator.post(reverse("run_bulk_retry"), {"run": group.run_pks})
    assert "Retry 3 runs?" in confirm.content.decode()
    as_operator.post(reverse("run_bulk_retry"), {"run": group.run_pks, "confirmed": "yes"})
    assert set(ScheduleRun.objects.filter(attempt=2).values_list("retry_of", flat=True)) == {
        r.pk for r in runs
    }


def test_a_viewer_sees_groups_but_no_retry(as_viewer):
    _failed(make_schedule(), 5, "boom")
    page = as_viewer.get(reverse("failure_list")).content.decode()
    assert "boom" in page and "Retry this group" not in page
