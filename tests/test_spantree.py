"""One span tree for the waterfall, /api/traces/<id> and the local AgentOS."""

import json

import pytest
from django.test import RequestFactory
from django.utils import timezone

from agentos_bridge import agentos_shapes
from scheduler_admin.api import traces as api_traces
from scheduler_admin.models import Span, Trace
from scheduler_admin.spantree import span_tree, walk
from scheduler_admin.views.traces import waterfall

pytestmark = pytest.mark.django_db


def _spans(trace: Trace, parents: dict[str, str]) -> None:
    start = timezone.now()
    for i, (span_id, parent) in enumerate(parents.items()):
        Span.objects.create(
            trace=trace,
            span_id=span_id,
            parent_span_id=parent,
            name=span_id,
            start_time=start + timezone.timedelta(milliseconds=i),
        )


def _ids(nodes, key: str) -> list:
    return [(n["id"], _ids(n[key] or [], key)) for n in nodes]


def test_children_nest_in_start_order_and_orphans_become_roots():
    trace = Trace.objects.create(trace_id="t", name="t")
    _spans(trace, {"root": "", "a": "root", "a1": "a", "b": "root", "orphan": "gone"})
    roots = span_tree(trace.spans.all())
    assert [n.span.span_id for n in roots] == ["root", "orphan"]
    assert [(n.span.span_id, depth) for n, depth in walk(roots)] == [
        ("root", 0),
        ("a", 1),
        ("a1", 2),
        ("b", 1),
        ("orphan", 0),
    ]


def test_spans_in_a_parent_cycle_are_left_out_instead_of_looping():
    trace = Trace.objects.create(trace_id="t", name="t")
    _spans(trace, {"root": "", "x": "y", "y": "x", "self": "self"})
    assert [n.span.span_id for n, _ in walk(span_tree(trace.spans.all()))] == ["root"]


def test_a_very_deep_trace_walks_without_recursion():
    trace = Trace.objects.create(trace_id="t", name="t")
    chain = [
        Span(trace=trace, span_id=f"s{i}", parent_span_id=f"s{i - 1}" if i else "")
        for i in range(5000)
    ]
    depths = [depth for _, depth in walk(span_tree(chain))]
    assert depths == list(range(5000))


def test_page_api_and_local_agentos_show_the_same_tree():
    trace = Trace.objects.create(trace_id="t", name="t", source="local")
    _spans(trace, {"root": "", "a": "root", "a1": "a", "b": "root", "orphan": "gone"})
    request = RequestFactory().get("/")

    api = json.loads(api_traces.trace_detail(request, None, "t").content)["tree"]
    local = agentos_shapes.trace_detail(trace)["tree"]
    expected = [("root", [("a", [("a1", [])]), ("b", [])]), ("orphan", [])]
    assert _ids(api, "spans") == _ids(local, "spans") == expected
    rows = waterfall(list(trace.spans.all()))
    assert [(r.span.span_id, r.depth) for r in rows] == [
        ("root", 0),
        ("a", 1),
        ("a1", 2),
        ("b", 1),
        ("orphan", 0),
    ]
