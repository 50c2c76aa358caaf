"""The scheduler's heartbeat: stored at most every HEARTBEAT_EVERY_S, only for passes
that succeed, and never stopping the loop."""

import threading

import pytest
import time_machine
from django.db import DatabaseError

from scheduler_admin.engine import loop
from scheduler_admin.models import Heartbeat
from scheduler_admin.ops import heartbeat
from scheduler_admin.ops.heartbeat import beat, record_pass


@pytest.fixture(autouse=True)
def forget_pending(monkeypatch):
    monkeypatch.setattr(heartbeat, "_pending", {})


def test_first_pass_is_stored_then_at_most_every_interval(db, settings):
    settings.OPS = {**settings.OPS, "HEARTBEAT_EVERY_S": 5.0}
    assert record_pass("scheduler", 12) is True
    assert record_pass("scheduler", 40) is False
    assert record_pass("scheduler", 7) is False
    heartbeat._pending["scheduler"].stored_at -= 5.0  # as if 5 s went by
    assert record_pass("scheduler", 9) is True
    row = Heartbeat.objects.get(name="scheduler")
    assert (row.passes, row.max_pass_ms, row.last_pass_ms) == (3, 40, 9)
    assert row.process.endswith(f":{heartbeat.os.getpid()}")


def test_a_pass_that_raises_is_not_a_beat(db):
    with pytest.raises(RuntimeError), beat("scheduler"):
        raise RuntimeError("database down")
    assert not Heartbeat.objects.exists()


def test_a_heartbeat_that_cannot_be_stored_does_not_stop_the_loop(db, monkeypatch):
    def refuse(*args, **kwargs):
        raise DatabaseError("locked")

    monkeypatch.setattr(Heartbeat.objects, "update_or_create", refuse)
    with beat("scheduler"):
        pass  # no exception escapes


@time_machine.travel("2026-03-01 12:00:00Z", tick=False)
def test_the_scheduler_loop_beats(db, monkeypatch):
    stop = threading.Event()
    monkeypatch.setattr(loop, "tick", lambda now: stop.set() or {"fired": 0})
    monkeypatch.setattr(loop, "close_old_connections", lambda: None)  # the test's connection
    loop.run_forever(stop)
    assert Heartbeat.objects.get(name="scheduler").beat_at.isoformat() == (
        "2026-03-01T12:00:00+00:00"
    )
