"""Many rows, each with its own values, in one round trip.

A burst of runs is claimed and stored a batch at a time; one ORM ``update()`` per row
costs half a millisecond of query building each, and a ``Case``/``When`` per column
costs more. Here one parameterised UPDATE is executed for all the rows
(``executemany``), with the same conditions on every row as the one-row path uses.
The caller holds the rows (locked, or SQLite's write lock) and checks afterwards which
of them took the write when that matters.
"""

from django.db import connection

from scheduler_admin.models import ScheduleRun


def update_runs(values: dict[int, dict], **where) -> None:
    """``UPDATE runs SET <values[pk]> WHERE pk = pk AND <where>`` for each pk; every
    row's dict must have the same keys."""
    if not values:
        return
    opts = ScheduleRun._meta
    quote = connection.ops.quote_name
    names = list(next(iter(values.values())))
    fields = [opts.get_field(name) for name in names]
    conditions = [opts.get_field(name) for name in where]
    sql = (
        f"UPDATE {quote(opts.db_table)} SET "
        + ", ".join(f"{quote(f.column)} = %s" for f in fields)
        + f" WHERE {quote(opts.pk.column)} = %s"
        + "".join(f" AND {quote(f.column)} = %s" for f in conditions)
    )
    fixed = [f.get_db_prep_save(where[f.name], connection) for f in conditions]
    params = [
        [f.get_db_prep_save(row[f.name], connection) for f in fields] + [pk, *fixed]
        for pk, row in values.items()
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
