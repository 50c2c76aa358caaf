"""Failures grouped like issues in an error tracker: firings that ended failed in
the last week, grouped by target and error signature (the error with numbers, ids
and addresses masked), each group with its count, first and last seen, the
schedules it hit, and a retry of the whole group after a confirmation."""

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.shortcuts import render
from django.utils import timezone

from scheduler_admin.views import queries

WINDOW = timedelta(days=7)
RETRY_CAP = 200  # runs one group retry posts; the newest ones

# Most specific first: a UUID or a long hex id must not be read as numbers.
_MASKS = [
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "<id>"),
    # A long hex token with a digit in it: a run, trace or request id.
    (re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b", re.I), "<id>"),
    # A word joined by - or _ to a part with a digit: run_abc123, sess-42.
    (re.compile(r"\b[a-z][a-z0-9]*[-_](?=[\w-]*\d)[\w-]+", re.I), "<id>"),
    (re.compile(r"\d+(?:\.\d+)*"), "<n>"),
]


def error_signature(error: str) -> str:
    """The error's first line with what varies between occurrences masked:
    "Connection refused by 10.0.0.7:8000" -> "Connection refused by <n>:<n>"."""
    line = (error or "").strip().splitlines()[0] if (error or "").strip() else "(no error text)"
    for pattern, mask in _MASKS:
        line = pattern.sub(mask, line)
    return line[:200]


@dataclass
class FailureGroup:
    target: str
    signature: str
    example: str
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    schedules: dict = field(default_factory=dict)  # pk -> name
    run_pks: list = field(default_factory=list)  # newest first
    latest_pk: int | None = None


def group_failures(rows) -> list[FailureGroup]:
    """Group failed firings (newest first) by target and error signature; the
    largest group first, then the most recent."""
    groups: dict[tuple, FailureGroup] = {}
    for pk, schedule_id, name, target, error, queued_at in rows:
        signature = error_signature(error)
        group = groups.get((target, signature))
        if group is None:
            group = groups[(target, signature)] = FailureGroup(target, signature, error)
            group.latest_pk, group.last_seen = pk, queued_at
        group.count += 1
        group.first_seen = queued_at
        group.schedules.setdefault(schedule_id, name)
        if len(group.run_pks) < RETRY_CAP:
            group.run_pks.append(pk)
    return sorted(groups.values(), key=lambda g: (-g.count, -g.last_seen.timestamp()))


def failure_list(request):
    since = timezone.now() - WINDOW
    rows = queries.failed_firings_since(since, queries.first_pk_since(since))
    context = {
        "groups": group_failures(rows),
        "since": since,
        "scanned": len(rows),
        "capped": len(rows) >= queries.FAILURES_SCAN_CAP,
        "retry_cap": RETRY_CAP,
    }
    return render(request, "failures/list.html", context)
