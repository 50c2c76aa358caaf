from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from scheduler_admin.models import RunStatus, ScheduleRun, Trigger
from tests.factories import make_run, make_schedule


def _many(schedule, n, **fields):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        make_run(
            schedule,
            scheduled_for=start + timedelta(minutes=i),
            queued_at=start + timedelta(minutes=i),
            **fields,
        )
        for i in range(n)
    ]


def test_newest_first_with_keyset_paging_both_ways(as_viewer):
    runs = _many(make_schedule(), 120, status=RunStatus.SUCCESS)
    first = as_viewer.get(reverse("run_list"))
    page = first.context["page"]
    assert [r.pk for r in page.rows] == [r.pk for r in reversed(runs)][:50]
    assert page.newer is None and page.older == runs[70].pk
    second = as_viewer.get(reverse("run_list"), {"before": page.older}).context["page"]
    assert [r.pk for r in second.rows] == [r.pk for r in reversed(runs)][50:100]
    third = as_viewer.get(reverse("run_list"), {"before": second.older}).context["page"]
    assert len(third.rows) == 20 and third.older is None
    back = as_viewer.get(reverse("run_list"), {"after": third.newer}).context["page"]
    assert [r.pk for r in back.rows] == [r.pk for r in second.rows]


def test_paging_never_counts(as_viewer):
    _many(make_schedule(), 3, status=RunStatus.SUCCESS)
    with CaptureQueriesContext(connection) as ctx:
        as_viewer.get(reverse("run_list"))
    assert not any("COUNT(" in q["sql"].upper() for q in ctx.captured_queries)


def test_filters(as_viewer):
    a, b = make_schedule(name="a"), make_schedule(name="b")
    ok = _many(a, 2, status=RunStatus.SUCCESS)
    bad = make_run(
        b,
        status=RunStatus.FAILED,
        error="Connection refused by host",
        trigger=Trigger.MANUAL,
        queued_at=datetime(2026, 2, 1, tzinfo=UTC),
    )

    def pks(**params):
        return {r.pk for r in as_viewer.get(reverse("run_list"), params).context["page"].rows}

    assert pks(status="failed") == {bad.pk}
    assert pks(schedule=str(a.pk)) == {r.pk for r in ok}
    assert pks(trigger="manual") == {bad.pk}
    assert pks(q="connection REFUSED") == {bad.pk}
    assert pks(target="local") == {bad.pk, *(r.pk for r in ok)}
    assert pks(since="2026-01-15T00:00") == {bad.pk}
    assert pks(until="2026-01-15") == {r.pk for r in ok}


def _poll(client, stamp=None, **params):
    headers = {"HTTP_X_LIVE_STAMP": stamp} if stamp else {}
    return client.get(
        reverse("run_list"), params, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="run-rows", **headers
    )


def test_the_newest_page_keeps_polling_so_new_firings_appear(as_viewer):
    """Issue 12: the list stopped polling when nothing on it was in flight, so new
    runs never appeared."""
    schedule = make_schedule()
    make_run(schedule, status=RunStatus.SUCCESS)
    page = as_viewer.get(reverse("run_list"))
    assert 'hx-trigger="every 2s"' in page.content.decode()
    stamp = page.context["stamp"]
    assert _poll(as_viewer, stamp).status_code == 204  # nothing new: nothing to swap
    new = make_run(schedule, status=RunStatus.QUEUED, scheduled_for="2026-01-02T00:00:00Z")
    poll = _poll(as_viewer, stamp)
    assert poll.status_code == 200 and f'id="run-{new.pk}"'.encode() in poll.content
    assert b'hx-trigger="every 2s"' in poll.content


def test_an_older_page_polls_only_while_a_shown_run_is_in_flight(as_viewer):
    schedule = make_schedule()
    running = make_run(schedule, status=RunStatus.RUNNING)
    newer = make_run(schedule, status=RunStatus.SUCCESS, scheduled_for="2026-01-02T00:00:00Z")
    older = {"before": newer.pk}
    page = as_viewer.get(reverse("run_list"), older).content.decode()
    assert 'hx-trigger="every 2s"' in page
    poll = _poll(as_viewer, **older)
    assert poll.status_code == 200 and b'hx-trigger="every 2s"' in poll.content
    ScheduleRun.objects.filter(pk=running.pk).update(status=RunStatus.SUCCESS)
    done = _poll(as_viewer, **older)
    assert done.status_code == 286  # htmx stops polling
    assert b"every 2s" not in done.content and b"status-success" in done.content
    assert "every 2s" not in as_viewer.get(reverse("run_list"), older).content.decode()


def test_a_poll_that_finds_nothing_new_costs_one_query(as_viewer, django_assert_max_num_queries):
    schedule = make_schedule()
    for i in range(30):
        make_run(schedule, status=RunStatus.SUCCESS, scheduled_for=f"2026-01-01T00:{i:02}:00Z")
    stamp = as_viewer.get(reverse("run_list")).context["stamp"]
    # Three for the session, the user and their role; one for the rows; no rendering.
    with django_assert_max_num_queries(4):
        assert _poll(as_viewer, stamp).status_code == 204


def _firing(schedule, statuses, when="2026-01-01T00:00:00Z"):
    previous = None
    for attempt, status in enumerate(statuses, start=1):
        previous = make_run(
            schedule,
            status=status,
            attempt=attempt,
            retry_of=previous,
            scheduled_for=when,
            trigger=Trigger.RETRY if previous else Trigger.SCHEDULE,
        )
    return previous


def test_one_row_per_firing_with_its_final_result(as_viewer):
    schedule = make_schedule()
    F, S = RunStatus.FAILED, RunStatus.SUCCESS
    recovered = _firing(schedule, [F, F, S], "2026-01-01T00:00:00Z")
    gave_up = _firing(schedule, [F, F, F, F], "2026-01-01T00:05:00Z")
    response = as_viewer.get(reverse("run_list"))
    assert [r.pk for r in response.context["page"].rows] == [gave_up.pk, recovered.pk]
    page = response.content.decode()
    assert "recovered on attempt 3" in page and "failed after 4 attempts" in page
    # Failed firings, not failed attempts: the recovered firing is not counted.
    failed = as_viewer.get(reverse("run_list"), {"status": "failed"}).context["page"].rows
    assert [r.pk for r in failed] == [gave_up.pk]
    every = as_viewer.get(reverse("run_list"), {"attempts": "all"}).context["page"].rows
    assert len(every) == 7


def test_attempts_fold_out(as_viewer):
    schedule = make_schedule()
    latest = _firing(schedule, [RunStatus.FAILED, RunStatus.SUCCESS])
    fold = as_viewer.get(reverse("run_attempts", args=[latest.pk]), HTTP_HX_REQUEST="true")
    text = fold.content.decode()
    assert "attempt 1" in text and "attempt 2" in text and "<html" not in text


def test_retry_is_offered_only_on_the_latest_failed_attempt(as_operator):
    """Issue 12: already-retried attempts kept their Retry button and checkbox."""
    schedule = make_schedule()
    first = make_run(schedule, status=RunStatus.FAILED)
    latest = make_run(
        schedule, status=RunStatus.FAILED, attempt=2, retry_of=first, trigger=Trigger.RETRY
    )
    page = as_operator.get(reverse("run_list"), {"attempts": "all"}).content.decode()
    assert f'aria-label="Retry run {latest.pk}"' in page and f'id="pick-{latest.pk}"' in page
    assert f'aria-label="Retry run {first.pk}"' not in page
    assert f'id="pick-{first.pk}"' not in page


def test_filter_by_schedule_name(as_viewer):
    a, b = make_schedule(name="nightly report"), make_schedule(name="hourly sync")
    run = make_run(a, status=RunStatus.SUCCESS)
    make_run(b, status=RunStatus.SUCCESS)
    rows = as_viewer.get(reverse("run_list"), {"schedule": "nightly report"}).context["page"].rows
    assert [r.pk for r in rows] == [run.pk]


def test_error_is_escaped(as_viewer):
    make_run(make_schedule(), status=RunStatus.FAILED, error="<script>alert(1)</script>")
    page = as_viewer.get(reverse("run_list")).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_run_and_session_ids_are_links(as_viewer):
    make_run(make_schedule(), status=RunStatus.SUCCESS, run_id="r-42", session_id="s-7")
    page = as_viewer.get(reverse("run_list")).content.decode()
    assert reverse("run_by_run_id", args=["r-42"]) in page
    assert reverse("session_detail", args=["s-7"]) in page


@pytest.mark.parametrize("n", [5, 50])
def test_query_count_is_constant(as_operator, django_assert_max_num_queries, n):
    for _ in range(n):
        make_run(make_schedule(), status=RunStatus.FAILED)
    with django_assert_max_num_queries(6):
        response = as_operator.get(reverse("run_list"))
    assert len(response.context["page"].rows) == n
