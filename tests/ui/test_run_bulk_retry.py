from django.urls import reverse

from scheduler_admin.models import RunStatus, ScheduleRun
from tests.factories import make_run, make_schedule


def test_bulk_retry_confirms_then_retries_and_says_how_many(as_operator):
    schedule = make_schedule()
    a = make_run(schedule, status=RunStatus.FAILED, scheduled_for="2026-01-01T00:00:00Z")
    b = make_run(schedule, status=RunStatus.TIMEOUT, scheduled_for="2026-01-01T00:05:00Z")
    ok = make_run(schedule, status=RunStatus.SUCCESS, scheduled_for="2026-01-01T00:10:00Z")
    confirm = as_operator.post(reverse("run_bulk_retry"), {"run": [a.pk, b.pk, ok.pk]})
    page = confirm.content.decode()
    assert "Retry 3 runs?" in page
    assert f"#{a.pk}" in page and f"#{b.pk}" in page and "cannot be retried: success" in page
    assert not ScheduleRun.objects.filter(retry_of__isnull=False).exists()
    done = as_operator.post(
        reverse("run_bulk_retry"), {"run": [a.pk, b.pk, ok.pk], "confirmed": "yes"}, follow=True
    )
    text = done.content.decode()
    assert "Retried 2 of 3 selected runs." in text
    assert "A success run cannot be retried." in text
    assert set(
        ScheduleRun.objects.filter(retry_of__isnull=False).values_list("retry_of", flat=True)
    ) == {a.pk, b.pk}


def test_bulk_retry_with_nothing_selected_says_so(as_operator):
    response = as_operator.post(reverse("run_bulk_retry"), {}, follow=True)
    assert "Select at least one run to retry." in response.content.decode()
