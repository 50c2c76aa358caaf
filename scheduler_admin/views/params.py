"""Reading ids and filter values from query strings and forms without ever failing.

A bad value is never an error page: the filter is dropped and the page says which
value it ignored (see templates/ignored_filters.html).
"""

from collections.abc import Iterable

# The largest id a row can have; a bigger number would overflow the database's integer.
MAX_ID = 2**63 - 1


def parse_id(text: str | None) -> int | None:
    """A non-negative id written in ASCII digits, or None.

    ``str.isdigit`` alone is not enough: "²".isdigit() is True but int("²") raises.
    """
    if text and text.isascii() and text.isdigit():
        value = int(text)
        if value <= MAX_ID:
            return value
    return None


def parse_ids(values: Iterable[str]) -> list[int]:
    """The valid ids among ``values`` (ticked checkboxes); the rest are dropped."""
    return [pk for pk in map(parse_id, values) if pk is not None]


def clean_text(text: str | None) -> str | None:
    """Free text from a filter box, stripped; None if it holds NUL, which
    PostgreSQL cannot compare."""
    text = (text or "").strip()
    return None if "\x00" in text else text


def ignored(name: str, value: str, why: str) -> str:
    """The line a page shows for a filter value it did not use."""
    return f"Ignored {name}={value[:60]!r}: {why}."
