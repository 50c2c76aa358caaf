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
    with django_assert_max_num_queries(6):  # incl. the approvals count
        response = as_viewer.get(reverse("trace_detail", args=[trace.trace_id]))
    assert len(response.context["rows"]) == n


@pytest.mark.parametrize("ms, text", [(None, "—"), (0, "<1 ms"), (850, "850 ms"), (2350, "2.35 s")])
def test_durations_read_as_people_say_them(ms, text):
    from scheduler_admin.templatetags.console import duration

    assert duration(ms) == text


def _span(trace, span_id, start, end=None, parent="", status="UNSET", name=None):
    return Span.objects.create(
        trace=trace,
        span_id=span_id,
        parent_span_id=parent,
        name=name or span_id,
        status=status,
        start_time=start,
        end_time=end,
        duration_ms=int((end - start).total_seconds() * 1000) if end else None,
    )


def test_a_running_trace_is_drawn_as_running(as_viewer):
    """Issue 12: the root was a 0.5 % sliver with "—", the running step had zero width
    and the status read UNSET."""
    from datetime import UTC, datetime, timedelta

    import time_machine

    start = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    run = make_run(make_schedule(), status="running")
    trace = Trace.objects.create(trace_id="t-run", schedule_run=run, start_time=start)
    _span(trace, "root", start)
    _span(trace, "done", start, start + timedelta(seconds=2), parent="root", status="OK")
    _span(trace, "step", start + timedelta(seconds=2), parent="root")
    with time_machine.travel(start + timedelta(seconds=4), tick=False):
        response = as_viewer.get(reverse("trace_detail", args=["t-run"]))
    rows = {r.span.span_id: r for r in response.context["rows"]}
    assert rows["root"].running and (rows["root"].offset_pct, rows["root"].width_pct) == (0, 100)
    assert rows["step"].running and (rows["step"].offset_pct, rows["step"].width_pct) == (50, 50)
    assert (rows["done"].width_pct, rows["done"].running) == (50, False)
    page = response.content.decode()
    assert page.count("span-row span-running") == 2 and ">UNSET<" not in page
    assert 'class="marker"' in page and "(has child spans)" in page  # the expand marker
    assert [label for _, label in response.context["axis"]][-1] == "4.0 s"  # the time axis


def test_the_scheduler_and_agent_traces_of_a_run_are_one_waterfall(as_viewer):
    from datetime import timedelta

    now = timezone.now()
    run = make_run(make_schedule(), status="success")
    ours = Trace.objects.create(trace_id="t-sched", source="scheduler", schedule_run=run)
    theirs = Trace.objects.create(trace_id="t-agent", source="local", schedule_run=run)
    _span(ours, "fire", now, now + timedelta(seconds=4), status="OK")
    _span(theirs, "workflow", now + timedelta(seconds=1), now + timedelta(seconds=3), status="OK")
    _span(
        theirs,
        "broken",
        now + timedelta(seconds=2),
        now + timedelta(seconds=3),
        parent="workflow",
        status="ERROR",
    )
    for trace_id in ("t-sched", "t-agent"):
        response = as_viewer.get(reverse("trace_detail", args=[trace_id]))
        rows = response.context["rows"]
        assert [(r.span.span_id, r.offset_pct, r.width_pct) for r in rows] == [
            ("fire", 0, 100),
            ("workflow", 25, 50),
            ("broken", 50, 25),
        ]
        page = response.content.decode()
        assert "scheduler: " in page and "agent (local): " in page
        assert "span-row span-error" in page  # errors highlighted


def test_a_live_trace_answers_204_until_a_span_ends(as_viewer, django_assert_max_num_queries):
    run = make_run(make_schedule(), status="running")
    trace = Trace.objects.create(trace_id="t-live", schedule_run=run)
    step = _span(trace, "step", timezone.now())
    page = as_viewer.get(reverse("trace_detail", args=["t-live"]))
    assert 'hx-trigger="every 2s"' in page.content.decode()
    stamp = page.context["stamp"]

    def poll():
        return as_viewer.get(
            reverse("trace_detail", args=["t-live"]),
            HTTP_HX_REQUEST="true",
            HTTP_HX_TARGET="trace-live",
            HTTP_X_LIVE_STAMP=stamp,
        )

    with django_assert_max_num_queries(4):  # session, user, role, the counts
        assert poll().status_code == 204
    step.end_time = timezone.now()
    step.save()
    run.status = "success"
    run.save()
    done = poll()
    assert done.status_code == 200 and b"every 2s" not in done.content  # polling stops
