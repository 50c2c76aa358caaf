"""The database's clock: leases and deadlines are compared across processes and
machines, so they are set and read by one clock, the database server's.

SQLite is embedded: every process that opens it runs on this machine, so this
machine's clock is the database's.
"""

from datetime import datetime

from django.db import connection
from django.utils import timezone


def db_now() -> datetime:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT clock_timestamp()")
            return cursor.fetchone()[0]
    return timezone.now()
