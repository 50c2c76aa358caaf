from django.urls import reverse

from scheduler_admin.models import RunStatus, ScheduleRun, Trigger
from tests.factories import make_run, make_schedule


def test_bulk_retry_confirms_then_retries_and_says_how_many(as_operator):
    schedule = make_schedule()
    a = make_run(schedule, status=RunStatus.FAILED, scheduled_for="2026-01-01T00:00:00Z")
    b = make_run(schedule, status=RunStatus.TIMEOUT, scheduled_for="2026-01-01T00:05:00Z")
    ok = make_run(schedule, status=RunStatus.SUCCESS, scheduled_for="2026-01-01T00:10:00Z")
    confirm = as_operator.post(reverse("run_bulk_retry"), {"run": [a.pk, b.pk, ok.pk]})
    page = confirm.content.decode()
    assert "Retry 2 runs?" in page
    assert f"#{a.pk}" in page and f"#{b.pk}" in page
    assert "cannot be retried: A success run cannot be retried." in page
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


def _retried_failure(schedule, when):
    first = make_run(schedule, status=RunStatus.FAILED, scheduled_for=when)
    make_run(
        schedule,
        status=RunStatus.FAILED,
        scheduled_for=when,
        attempt=2,
        retry_of=first,
        trigger=Trigger.RETRY,
    )
    return first


def test_bulk_retry_says_up_front_which_runs_are_not_eligible(as_operator):
    """Issue 12: three already-retried runs ended "Retried 0 of 3" in a green banner."""
    schedule = make_schedule()
    runs = [_retried_failure(schedule, f"2026-01-01T00:0{i}:00Z") for i in range(3)]
    pks = [r.pk for r in runs]
    confirm = as_operator.post(reverse("run_bulk_retry"), {"run": pks}).content.decode()
    assert "None of these runs can be retried" in confirm
    assert confirm.count("already retried; retry its latest attempt") == 3
    assert "Yes, retry" not in confirm
    done = as_operator.post(
        reverse("run_bulk_retry"), {"run": pks, "confirmed": "yes"}, follow=True
    ).content.decode()
    assert "msg-success" not in done and "Retried none of the 3 selected runs." in done
    assert ScheduleRun.objects.filter(attempt=3).count() == 0


def test_bulk_retry_goes_back_to_the_list_with_its_filters(as_operator):
    """Issue 12: bulk retry dropped the list's filters."""
    run = make_run(make_schedule(), status=RunStatus.FAILED, error="boom")
    back = "/runs/?status=failed&q=boom"
    confirm = as_operator.post(reverse("run_bulk_retry"), {"run": [run.pk], "back": back})
    assert 'name="back" value="/runs/?status=failed&amp;q=boom"' in confirm.content.decode()
    response = as_operator.post(
        reverse("run_bulk_retry"), {"run": [run.pk], "confirmed": "yes", "back": back}
    )
    assert response["Location"] == back
    elsewhere = as_operator.post(
        reverse("run_bulk_retry"), {"run": [run.pk], "confirmed": "yes", "back": "//evil.test/"}
    )
    assert elsewhere["Location"] == "/runs/"
