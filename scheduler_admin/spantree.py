"""A trace's spans as a tree, built once from Span.parent_span_id for every reader
(the waterfall page, /api/traces/<id>, the local AgentOS's /traces/<id>)."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from scheduler_admin.models import Span


@dataclass
class SpanNode:
    span: Span
    children: list["SpanNode"] = field(default_factory=list)


def span_tree(spans: Iterable[Span]) -> list[SpanNode]:
    """The root nodes, children nested, every level in the order ``spans`` came in
    (the model's start_time, pk).

    A root has no parent or a parent outside this trace. Every node hangs under
    exactly one parent, so what hangs under a root is a tree; spans caught in a
    parent cycle (bad data) reach no root and are left out rather than looping.
    """
    nodes = [SpanNode(span) for span in spans]
    by_id: dict[str, SpanNode] = {}
    for node in nodes:
        by_id.setdefault(node.span.span_id, node)
    roots = []
    for node in nodes:
        parent = by_id.get(node.span.parent_span_id) if node.span.parent_span_id else None
        if parent is None:
            roots.append(node)
        else:
            parent.children.append(node)
    return roots


def walk(roots: list[SpanNode]) -> Iterator[tuple[SpanNode, int]]:
    """Depth-first (parents before children, siblings in order), with each depth;
    a loop, not recursion, so a very deep trace cannot exhaust the stack."""
    stack = [(root, 0) for root in reversed(roots)]
    while stack:
        node, depth = stack.pop()
        yield node, depth
        stack.extend((child, depth + 1) for child in reversed(node.children))
