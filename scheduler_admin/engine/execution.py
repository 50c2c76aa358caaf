"""The django-q2 task: start one run, briefly.

A run on an AgentOS is *submitted* here and then *followed* elsewhere (engine/follow.py):
the worker sends the background run, stores the agent's run id and is free again, so
workers never wait on agents and the number of runs in flight is not the number of
workers. Everything the worker learns is stored before it moves on, in this order:

1. claim the queued run (conditional UPDATE: a second delivery does nothing), within
   the target's ``max_in_flight`` (beyond it the run waits queued);
2. store ``request_sent_at`` and the deadline *before* the request leaves: from then
   on, whoever finds the run abandoned knows it may exist on the server and looks it
   up (by the session id we chose) instead of sending it again;
3. store the run id and hand the run to the followers.

The local runtime (in-process callables) and plain requests (any other endpoint) still
execute here, bounded by the schedule's timeout, under a lease the worker renews.
"""

import logging
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Case, F, Value, When

import agentos_bridge
from agentos_bridge import remote_runs
from agentos_bridge.firing_trace import FiringTrace
from agentos_bridge.outcome import Outcome, RunRequest, TargetInfo
from scheduler_admin.engine.clock import db_now
from scheduler_admin.engine.config import option
from scheduler_admin.engine.db_retry import until_it_lands
from scheduler_admin.engine.dispatch import RUNS_PER_TASK
from scheduler_admin.engine.outcomes import record_outcome
from scheduler_admin.models import RunStage, RunStatus, ScheduleRun, Target

log = logging.getLogger(__name__)

FIRST_CHECK_S = 0.5
BUSY_WAIT_S = 1.0


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def claim_run(
    run_pk: int, worker: str, now: datetime, *, stage: str = RunStage.EXECUTING, **sending
) -> bool:
    """Take a queued run for this worker. False if someone else has (or had) it.
    ``sending`` (request_sent_at, deadline_at, session_id) marks it sent in the same
    write, for a submit that leaves right after."""
    return bool(
        ScheduleRun.objects.filter(pk=run_pk, status=RunStatus.QUEUED).update(
            **claim_fields(worker, now, stage=stage, **sending)
        )
    )


def claim_fields(worker: str, now: datetime, *, stage: str, **sending) -> dict:
    """What a claim writes on a queued run."""
    return {
        "status": RunStatus.RUNNING,
        "stage": stage,
        "started_at": now,
        "worker": worker,
        "lease_expires_at": now + timedelta(seconds=option("LEASE_S")),
        **sending,
    }


def execute_run(run_pk: int) -> str:
    """Start ``run_pk``. Safe to receive twice: the second delivery does nothing."""
    run = ScheduleRun.objects.select_related("schedule__target").filter(pk=run_pk).first()
    if run is None or run.status != RunStatus.QUEUED:
        log.info("run %s: already claimed or finished; duplicate delivery ignored", run_pk)
        return "duplicate"
    request = build_request(run)
    if remote_runs.is_background_run(request):
        from scheduler_admin.engine.start_batch import start_background_runs

        # One path for one run and for a batch: claimed within the target's
        # max_in_flight, sent, its run id stored.
        status = start_background_runs([run_pk], worker_name()).get(run_pk, "duplicate")
        if status not in ("held", "duplicate") and option("DISPATCH") in ("inline", "thread"):
            from scheduler_admin.engine.follow import follow_until_done

            return follow_until_done(run_pk)
        return status
    worker = worker_name()
    if not claim_run(run_pk, worker, db_now(), stage=RunStage.EXECUTING):
        log.info("run %s: already claimed or finished; duplicate delivery ignored", run_pk)
        return "duplicate"
    run.refresh_from_db()
    request.claimed_at = run.started_at
    if not request.target.is_local:
        # A plain request: stored as sent before it leaves, so a lost worker's request
        # is sent again with the same Idempotency-Key rather than as a new attempt.
        sent = db_now()
        until_it_lands(
            lambda: ScheduleRun.objects.filter(pk=run_pk, worker=worker).update(
                request_sent_at=sent,
                deadline_at=sent + timedelta(seconds=request.timeout_s),
            ),
            f"run {run_pk}: marking it sent",
        )
    with LeaseKeeper(run_pk, worker):
        outcome = _call_bridge(request)
    log.info("run %s: %s %s", run_pk, outcome.status, outcome.error[:200])
    record_outcome(run, outcome, worker=worker)
    return outcome.status


def execute_runs(run_pks: list[int]) -> dict[int, str]:
    """The django-q2 task: start several runs side by side (each claimed on its own,
    so a second delivery of the batch, or of one of its runs, does nothing)."""
    if isinstance(run_pks, int):  # a message queued by an older version: one run
        run_pks = [run_pks]
    from scheduler_admin.engine.on_time import wait_for_scheduled_time
    from scheduler_admin.engine.start_batch import start_background_runs

    # Background runs on agent servers: claimed, sent and stored together (a few
    # transactions for the batch); the rest (local runtime, plain requests) one by one.
    # Runs written ahead of their time leave at their time (engine/on_time.py).
    results = start_background_runs(run_pks, worker_name())
    run_pks = [pk for pk in run_pks if pk not in results]
    if not run_pks:
        return results
    wait_for_scheduled_time(run_pks)

    def one(pk: int) -> str:
        from scheduler_admin.ops.logs import log_context

        try:
            with log_context(run=pk):
                return execute_run(pk)
        except Exception as exc:  # noqa: BLE001 - one run's trouble is not the batch's
            # Its lease (if it was claimed) runs out and recovery picks it up.
            log.exception("run %s: could not be started (%s)", pk, type(exc).__name__)
            return "error"
        finally:
            connection.close()  # this thread's own connection

    # Local-runtime runs and plain requests execute here: at most 20 at once a worker.
    with ThreadPoolExecutor(min(len(run_pks), RUNS_PER_TASK), thread_name_prefix="start") as pool:
        results.update(zip(run_pks, pool.map(one, run_pks), strict=True))
    return results


def send_submit(request: RunRequest, trace: FiringTrace) -> remote_runs.Submitted:
    """The submit itself: an HTTP request, no database."""
    with trace.span("submit", input=request.payload, path=request.endpoint) as span:
        result = remote_runs.submit(
            request, time.monotonic() + request.timeout_s, option("SUBMIT_TIMEOUT_S")
        )
        span.attributes["http.status_code"] = result.status_code
        span.finish(
            output={"run_id": result.run_id} if result.run_id else None,
            error=result.unknown or (result.outcome.error if result.outcome else ""),
        )
    return result


def store_submit(
    run: ScheduleRun, request: RunRequest, worker: str, result, trace: FiringTrace
) -> str:
    """Store what a submit learned: the run id (the followers take it from here), a
    definite outcome, "busy" (queued again) or "answer lost" (looked up by session)."""
    mine = ScheduleRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING, worker=worker)
    now = run.request_sent_at  # stored by the claim, with the session id and deadline
    if result.busy_for_s is not None:
        return _requeue_busy(run, mine, result.busy_for_s)
    if result.outcome is not None:
        outcome = result.outcome
        log.info(
            "run %s: %s on %s: %s %s",
            run.pk,
            request.endpoint,
            request.target.name,
            outcome.status,
            outcome.error[:200],
        )
        outcome.request_sent_at = outcome.request_sent_at or now
        ok = record_outcome(run, outcome, worker=worker, import_trace=bool(result.run_id))
        trace.complete(outcome)
        if not ok and result.run_id:
            _keep_run_id(run.pk, result.run_id, result.session_id)
        return outcome.status
    if result.run_id:
        handed = until_it_lands(
            lambda: mine.update(
                run_id=result.run_id,
                session_id=result.session_id,
                status_code=result.status_code,
                stage=Case(
                    When(stage=RunStage.SUBMITTING, then=Value(RunStage.FOLLOWING)),
                    default=F("stage"),
                ),
                next_check_at=db_now() + timedelta(seconds=FIRST_CHECK_S),
                worker="",
                lease_expires_at=None,
            ),
            f"run {run.pk}: storing its agent run id",
        )
        log.info("run %s: submitted to %s as %s", run.pk, request.target.name, result.run_id)
        if not handed:
            # Reaped while we waited for the answer: it is being looked up by session;
            # the run id spares the followers the search.
            _keep_run_id(run.pk, result.run_id, result.session_id)
        return "submitted"
    # Sent, answer lost: the followers ask the server before anything is sent again.
    until_it_lands(
        lambda: mine.update(
            stage=Case(
                When(stage=RunStage.SUBMITTING, then=Value(RunStage.REATTACHING)),
                default=F("stage"),
            ),
            next_check_at=db_now() + timedelta(seconds=1),
            worker="",
            lease_expires_at=None,
            **run.reattach_changes(f"submit answer lost ({result.unknown[:200]})"),
        ),
        f"run {run.pk}: handing an unanswered submit to the followers",
    )
    return "unknown"


def _requeue_busy(run: ScheduleRun, mine, wait_s: float) -> str:
    """The server is full (429): the same attempt waits and is sent again."""
    until_it_lands(
        lambda: mine.update(
            status=RunStatus.QUEUED,
            stage=RunStage.NONE,
            worker="",
            lease_expires_at=None,
            started_at=None,
            request_sent_at=None,
            deadline_at=None,
            dispatched_at=None,
            not_before=db_now() + timedelta(seconds=min(max(wait_s, BUSY_WAIT_S), 3600)),
        ),
        f"run {run.pk}: queuing it again",
    )
    log.info("run %s: the agent server is busy (429); sending again in %.0f s", run.pk, wait_s)
    return "busy"


def _keep_run_id(run_pk: int, run_id: str, session_id: str) -> None:
    until_it_lands(
        lambda: ScheduleRun.objects.filter(pk=run_pk, run_id="").update(
            run_id=run_id, session_id=session_id
        ),
        f"run {run_pk}: keeping its agent run id",
    )


def execute_run_in_thread(run_pk: int) -> threading.Thread:
    """Execute in a background thread of this process (live-server tests, demos)."""
    return in_thread(execute_run, run_pk, name=f"run-{run_pk}")


def in_thread(task, run_pk: int, *, name: str) -> threading.Thread:
    """``task(run_pk)`` in a daemon thread that closes its own database connection."""

    def target() -> None:
        try:
            task(run_pk)
        finally:
            connection.close()

    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


def build_request(run: ScheduleRun) -> RunRequest:
    schedule = run.schedule
    snapshot = run.request if isinstance(run.request, dict) else {}
    target = schedule.target
    if snapshot.get("target_id") not in (None, target.pk):
        target = Target.objects.filter(pk=snapshot["target_id"]).first() or target
    return RunRequest(
        target=TargetInfo.of(target),
        method=snapshot.get("method", schedule.method),
        endpoint=snapshot.get("endpoint", schedule.endpoint),
        payload=run.input if isinstance(run.input, dict) else {},
        timeout_s=snapshot.get("timeout_s", schedule.timeout_s),
        idempotency_key=run.idempotency_key,
        run_pk=run.pk,
        schedule_name=schedule.name,
        claimed_at=run.started_at,
        session_id=run.session_key,
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
    """Renew the run's lease every third of its length until the block ends.

    Lease times come from the database clock. Any failure to renew (a restarting
    database, an unexpected exception) is retried on the next beat rather than ending
    the renewals: only "the run is no longer mine" stops them."""

    def __init__(self, run_pk: int | list[int], worker: str):
        self.run_pks = run_pk if isinstance(run_pk, list) else [run_pk]
        self.run_pk, self.worker = self.run_pks[0], worker
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
                        pk__in=self.run_pks, status=RunStatus.RUNNING, worker=self.worker
                    ).update(lease_expires_at=db_now() + timedelta(seconds=self.lease_s))
                except Exception as exc:  # noqa: BLE001 - keep renewing; see docstring
                    log.warning(
                        "run %s: lease renewal failed (%s); retrying",
                        self.run_pk,
                        type(exc).__name__,
                    )
                    connection.close()
                    continue
                if not renewed:
                    log.warning("run %s: lease lost; no longer renewing", self.run_pk)
                    return
        finally:
            connection.close()  # this thread's own connection
