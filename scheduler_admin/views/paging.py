"""Keyset paging on pk ("older" / "newer"): no COUNT(*), fast at any depth."""

from dataclasses import dataclass, field

from django.db.models import QuerySet

from scheduler_admin.views.params import ignored, parse_id


@dataclass
class KeysetPage:
    rows: list
    older: int | None  # pass as ?before=
    newer: int | None  # pass as ?after=
    ignored: list[str] = field(default_factory=list)  # bad ?before/?after values


def _bound(params, name: str, notes: list[str]) -> int | None:
    text = params.get(name) or ""
    value = parse_id(text)
    if text and value is None:
        notes.append(ignored(name, text, "not a row number"))
    return value


def keyset_page(queryset: QuerySet, params, size: int = 50) -> KeysetPage:
    """Newest first. ``?before=<pk>`` gives older rows, ``?after=<pk>`` newer ones.

    One query: we fetch size + 1 rows to know whether another page exists in the
    direction we walk, and assume one exists in the direction we came from.
    """
    notes: list[str] = []
    before, after = _bound(params, "before", notes), _bound(params, "after", notes)
    if after is not None:
        rows = list(queryset.filter(pk__gt=after).order_by("pk")[: size + 1])
        more = len(rows) > size
        rows = list(reversed(rows[:size]))
        return KeysetPage(
            rows=rows,
            older=rows[-1].pk if rows else after + 1,
            newer=rows[0].pk if rows and more else None,
            ignored=notes,
        )
    if before is not None:
        queryset = queryset.filter(pk__lt=before)
    rows = list(queryset.order_by("-pk")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return KeysetPage(
        rows=rows,
        older=rows[-1].pk if rows and more else None,
        newer=rows[0].pk if rows and before is not None else None,
        ignored=notes,
    )
