import pytest
from django.urls import reverse
from django.utils import timezone

from scheduler_admin.models import Span, Trace
from tests.factories import make_run, make_schedule


def test_waterfall_nests_spans_with_bars_to_scale_and_highlights_errors(as_viewer, trace):
    response = as_viewer.get(reverse("trace_detail", args=[trace.trace_id]))
    rows = response.context["rows"]
    assert [(r.span.name, r.depth) for r in rows] == [("workflow", 0), ("fetch step", 1)]
    assert (rows[0].offset_pct, rows[0].width_pct) == (0.0, 100.0)
    assert (rows[1].offset_pct, rows[1].width_pct) == (50.0, 50.0)
    page = response.content.decode()
    assert "span-row span-error" in page and "boom" in page
    assert reverse("session_detail", args=["sess-1"]) in page
    assert reverse("run_detail", args=[trace.schedule_run_id]) in page


def test_span_output_is_escaped(as_viewer, trace):
    Span.objects.filter(span_id="step1").update(output="<script>alert(1)</script>")
    page = as_viewer.get(reverse("trace_detail", args=[trace.trace_id])).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_run_id_link_goes_to_the_matching_trace(as_viewer, trace):
    response = as_viewer.get(reverse("run_by_run_id", args=["agno-run-1"]))
    assert response["Location"] == reverse("trace_detail", args=["trace-1"])


def test_run_id_link_falls_back_to_the_scheduler_side_trace(as_viewer):
    run = make_run(make_schedule(), run_id="agent-run-9")
    Trace.objects.create(trace_id="sched-9", schedule_run=run)
    response = as_viewer.get(reverse("run_by_run_id", args=["agent-run-9"]))
    assert response["Location"] == reverse("trace_detail", args=["sched-9"])


def test_run_id_without_trace_shows_a_helpful_page(as_viewer):
    run = make_run(make_schedule(), run_id="agent-run-0")
    response = as_viewer.get(reverse("run_by_run_id", args=["agent-run-0"]))
    assert response.status_code == 404
    page = response.content.decode()
    assert "No trace for run id" in page
    assert reverse("run_detail", args=[run.pk]) in page


@pytest.mark.parametrize("n", [5, 50])
def test_query_count_is_constant(as_viewer, django_assert_max_num_queries, n):
    now = timezone.now()
    trace = Trace.objects.create(trace_id=f"t{n}")
    for i in range(n):
        Span.objects.create(
            trace=trace,
            span_id=f"s{i}",
            parent_span_id=f"s{i - 1}" if i else "",
            name=f"step {i}",
            start_time=now + timezone.timedelta(seconds=i),
            end_time=now + timezone.timedelta(seconds=i + 1),
        )
    with django_assert_max_num_queries(5):
        response = as_viewer.get(reverse("trace_detail", args=[trace.trace_id]))
    assert len(response.context["rows"]) == n


@pytest.mark.parametrize("ms, text", [(None, "—"), (0, "<1 ms"), (850, "850 ms"), (2350, "2.35 s")])
def test_durations_read_as_people_say_them(ms, text):
    from scheduler_admin.templatetags.console import duration

    assert duration(ms) == text
