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


def test_polls_only_while_a_shown_run_is_in_flight(as_viewer):
    schedule = make_schedule()
    running = make_run(schedule, status=RunStatus.RUNNING)
    page = as_viewer.get(reverse("run_list")).content.decode()
    assert 'hx-trigger="every 2s"' in page
    poll = as_viewer.get(reverse("run_list"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="run-rows")
    assert poll.status_code == 200 and b'hx-trigger="every 2s"' in poll.content
    ScheduleRun.objects.filter(pk=running.pk).update(status=RunStatus.SUCCESS)
    done = as_viewer.get(reverse("run_list"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="run-rows")
    assert done.status_code == 286  # htmx stops polling
    assert b"every 2s" not in done.content and b"status-success" in done.content
    assert "every 2s" not in as_viewer.get(reverse("run_list")).content.decode()


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
