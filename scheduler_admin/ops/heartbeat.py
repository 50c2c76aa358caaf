"""Heartbeats of looping processes, stored where every web server can read them.

The scheduler wraps each pass of its loop in ``with beat("scheduler"):``. A pass that
raises is not a beat, so a scheduler whose database calls fail turns unready too.
"""

import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from scheduler_admin.models import Heartbeat

log = logging.getLogger(__name__)


@dataclass
class _Pending:
    """Passes since the last stored beat, kept in this process."""

    passes: int = 0
    max_pass_ms: int = 0
    stored_at: float | None = None  # time.monotonic() of the last stored beat
    process: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")


_pending: dict[str, _Pending] = {}


@contextmanager
def beat(name: str) -> Iterator[None]:
    """Time one pass of the ``name`` loop; store a heartbeat when the pass succeeds."""
    started = time.monotonic()
    yield
    record_pass(name, int((time.monotonic() - started) * 1000))


def record_pass(name: str, pass_ms: int) -> bool:
    """Count one successful pass; write the row at most every ``HEARTBEAT_EVERY_S``.

    The scheduler may pass many times a second under load: one small UPDATE every few
    seconds keeps SQLite's write lock free for firing. True if the row was written.
    """
    pending = _pending.setdefault(name, _Pending())
    pending.passes += 1
    pending.max_pass_ms = max(pending.max_pass_ms, pass_ms)
    now = time.monotonic()
    every_s = settings.OPS["HEARTBEAT_EVERY_S"]
    if pending.stored_at is not None and now - pending.stored_at < every_s:
        return False
    try:
        Heartbeat.objects.update_or_create(
            name=name,
            defaults={
                "beat_at": timezone.now(),
                "passes": pending.passes,
                "max_pass_ms": pending.max_pass_ms,
                "last_pass_ms": pass_ms,
                "process": pending.process,
            },
        )
    except DatabaseError:
        # Never stop the loop for a heartbeat; the next pass tries again, and a
        # heartbeat that cannot be stored is what makes /readyz say so.
        log.warning("heartbeat %r not stored; retrying next pass", name)
        return False
    _pending[name] = _Pending(stored_at=now, process=pending.process)
    return True
