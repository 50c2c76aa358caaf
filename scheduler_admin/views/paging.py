"""Keyset paging on pk ("older" / "newer"): no COUNT(*), fast at any depth."""

from dataclasses import dataclass

from django.db.models import QuerySet


@dataclass
class KeysetPage:
    rows: list
    older: int | None  # pass as ?before=
    newer: int | None  # pass as ?after=


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def keyset_page(queryset: QuerySet, params, size: int = 50) -> KeysetPage:
    """Newest first. ``?before=<pk>`` gives older rows, ``?after=<pk>`` newer ones.

    One query: we fetch size + 1 rows to know whether another page exists in the
    direction we walk, and assume one exists in the direction we came from.
    """
    before, after = _int(params.get("before")), _int(params.get("after"))
    if after is not None:
        rows = list(queryset.filter(pk__gt=after).order_by("pk")[: size + 1])
        more = len(rows) > size
        rows = list(reversed(rows[:size]))
        return KeysetPage(
            rows=rows,
            older=rows[-1].pk if rows else after + 1,
            newer=rows[0].pk if rows and more else None,
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
    )
