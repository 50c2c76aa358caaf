"""The django-q2 task: execute one run through agentos_bridge and record how it ended.

Calls to agent servers happen outside any transaction. The worker holds a lease
on the run and renews it while the run is in flight; if the worker dies, the
lease runs out and engine/recovery.py closes the run as "worker lost".
"""

import logging
import os
import socket
import threading
from datetime import datetime, timedelta

from django.db import DatabaseError, connection
from django.utils import timezone

import agentos_bridge
from agentos_bridge.outcome import Outcome, RunRequest, TargetInfo
from scheduler_admin.engine.config import option
from scheduler_admin.engine.outcomes import record_outcome
from scheduler_admin.models import RunStatus, ScheduleRun

log = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def claim_run(run_pk: int, worker: str, now: datetime) -> bool:
    """Take a queued run for this worker. False if someone else has (or had) it."""
    lease = timedelta(seconds=option("LEASE_S"))
    return bool(
        ScheduleRun.objects.filter(pk=run_pk, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING, started_at=now, worker=worker, lease_expires_at=now + lease
        )
    )


def execute_run(run_pk: int) -> str:
    """Run ``run_pk`` once. Safe to receive twice: the second delivery does nothing."""
    worker = worker_name()
    if not claim_run(run_pk, worker, timezone.now()):
        log.info("run %s: already claimed or finished; duplicate delivery ignored", run_pk)
        return "duplicate"
    run = ScheduleRun.objects.select_related("schedule__target").get(pk=run_pk)
    request = build_request(run)
    with LeaseKeeper(run_pk, worker):
        outcome = _call_bridge(request)
    log.info("run %s: %s %s", run_pk, outcome.status, outcome.error[:200])
    record_outcome(run, outcome, worker=worker)
    return outcome.status


def execute_run_in_thread(run_pk: int) -> threading.Thread:
    """Execute in a background thread of this process (live-server tests, demos)."""

    def target() -> None:
        try:
            execute_run(run_pk)
        finally:
            connection.close()

    thread = threading.Thread(target=target, name=f"run-{run_pk}", daemon=True)
    thread.start()
    return thread


def build_request(run: ScheduleRun) -> RunRequest:
    schedule, target = run.schedule, run.schedule.target
    return RunRequest(
        target=TargetInfo.of(target),
        method=schedule.method,
        endpoint=schedule.endpoint,
        payload=run.input if isinstance(run.input, dict) else {},
        timeout_s=schedule.timeout_s,
        idempotency_key=run.idempotency_key,
        run_pk=run.pk,
        schedule_name=schedule.name,
        claimed_at=run.started_at,
    )


def _call_bridge(request: RunRequest) -> Outcome:
    # The bridge returns outcomes rather than raising; a bug in it must still close
    # the run (as failed, with the error) instead of leaving it running.
    try:
        return agentos_bridge.execute(request)
    except Exception as exc:  # noqa: BLE001 - recorded on the run, not swallowed
        # Only the type: an exception's text may quote a request (and its token).
        log.error("run %s: the bridge raised %s", request.run_pk, type(exc).__name__)
        return Outcome.failure(
            f"Internal error in the bridge: {type(exc).__name__}", retryable=False
        )


class LeaseKeeper:
    """Renew the run's lease every third of its length until the block ends."""

    def __init__(self, run_pk: int, worker: str):
        self.run_pk, self.worker = run_pk, worker
        self.lease_s = option("LEASE_S")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"lease-{run_pk}", daemon=True)

    def __enter__(self) -> "LeaseKeeper":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _renew(self) -> None:
        try:
            while not self._stop.wait(self.lease_s / 3):
                try:
                    renewed = ScheduleRun.objects.filter(
                        pk=self.run_pk, status=RunStatus.RUNNING, worker=self.worker
                    ).update(lease_expires_at=timezone.now() + timedelta(seconds=self.lease_s))
                except DatabaseError:
                    # A busy or restarting database: two more tries before the lease
                    # runs out, so keep going rather than let a live run be reaped.
                    log.warning("run %s: lease renewal failed; retrying", self.run_pk)
                    connection.close()
                    continue
                if not renewed:
                    log.warning("run %s: lease lost; no longer renewing", self.run_pk)
                    return
        finally:
            connection.close()  # this thread's own connection
