"""Writes that must land: an outcome, an agent run id, a re-attach.

A database restart or "database is locked" is a blip, not a verdict on the run: the
write is retried (on a fresh connection) until it lands or the budget is spent. A
value the database refuses (IntegrityError, DataError) is not a blip and is raised
at once, for the caller to decide.
"""

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import DataError, IntegrityError, InterfaceError, OperationalError, connection

log = logging.getLogger(__name__)

T = TypeVar("T")
BUDGET_S = 120.0


def is_blip(exc: Exception) -> bool:
    return isinstance(exc, OperationalError | InterfaceError) and not isinstance(
        exc, IntegrityError | DataError
    )


def until_it_lands(write: Callable[[], T], what: str, *, budget_s: float = BUDGET_S) -> T:
    """Call ``write`` until it succeeds; retry only connection errors and lock waits,
    and only outside a transaction (inside one, the blip is raised to the caller that
    owns the transaction, which retries it whole)."""
    deadline = time.monotonic() + budget_s
    delay = 0.1
    while True:
        try:
            return write()
        except (OperationalError, InterfaceError) as exc:
            # Inside a transaction the blip broke it: only the outermost caller can
            # start again, so it is raised to the until_it_lands around that.
            if not is_blip(exc) or connection.in_atomic_block:
                raise
            if time.monotonic() + delay > deadline:
                raise
            log.warning("%s: database unavailable (%s); retrying", what, type(exc).__name__)
            if not connection.in_atomic_block:
                connection.close()  # the next query opens a fresh connection
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
