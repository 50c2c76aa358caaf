"""Follow runs in flight: one process checks many runs, none holds a worker.

A follower (``manage.py follow_runs``; any number of them, on any machines) claims the
runs whose check is due, a batch at a time, by moving their ``next_check_at`` past a
check lease in one conditional UPDATE (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the
write lock on SQLite): no run is checked by two followers at once, and a run whose
follower died is due again when the lease passes, so none is forgotten. Each claimed
run gets one short step in a thread pool, by its stage:

- following: read its status once; store the outcome when it has ended, else the
  next check time (back-off with the run's age, at most ``FOLLOW_MAX_INTERVAL_S``);
  past its deadline, cancel it on the server and close it as timed out;
- reattaching: the submit's answer was lost; ask the server for a run in the session
  we chose, and follow it if there is one; send the same attempt again only when the
  server certainly has none;
- cancelling: cancel it on the server, close it as cancelled;
- finished with an import pending: import its session and trace (a slow or failing
  import never touches the outcome, which is already stored).

Every write is conditional on ``follower`` still being us: a follower that stalled
past its lease finds its write refused and drops it.
"""

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F

from agentos_bridge import remote_runs
from agentos_bridge.firing_trace import finish_followed, trace_id_for
from agentos_bridge.outcome import Outcome
from scheduler_admin.engine.batch_outcomes import record_successes
from scheduler_admin.engine.clock import db_now
from scheduler_admin.engine.config import option
from scheduler_admin.engine.db_retry import is_blip, until_it_lands
from scheduler_admin.engine.execution import build_request
from scheduler_admin.engine.outcomes import record_outcome
from scheduler_admin.models import ImportStatus, RunStage, RunStatus, ScheduleRun, Trace
from scheduler_admin.ops.heartbeat import beat

log = logging.getLogger(__name__)

CHECK_LEASE_S = 60.0
FAR_INTERVAL_S = 10.0
# Imports taken per claim: the rest of a follower's threads stay free for checks.
IMPORTS_PER_CLAIM = 8
# How long after a run ends its trace may still be on its way to the server's store.
TRACE_LATE_S = 8.0
FIRST_INTERVAL_S = 0.5
# Around a run's usual end: how often it is looked at, and how early (beyond one
# check interval) the looking starts.
CLOSE_INTERVAL_S = 0.5
EARLY_S = 0.5
# How long past its deadline an unreachable server is still asked about a run.
GIVE_UP_AFTER_S = 600.0


def submit_grace_s() -> float:
    """How long after sending a lost submit the server may still be storing the run."""
    return option("SUBMIT_TIMEOUT_S") + 10.0


def follower_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:follower"


def interval_s(run: ScheduleRun, now: datetime, expected_s: float | None = None) -> float:
    """When to look again. Young runs often (a tenth of their age, at least
    FIRST_INTERVAL_S); at most every FOLLOW_MAX_INTERVAL_S. When the schedule's recent
    runs say how long a run takes, a run is looked at rarely until just before that
    usual end (at most FAR_INTERVAL_S apart), then every CLOSE_INTERVAL_S for a while:
    a thousand runs of a known length cost a few checks each, and their ends are seen
    within a fraction of a second."""
    since = run.request_sent_at or run.started_at or now
    age = max(0.0, (now - since).total_seconds())
    near = min(max(FIRST_INTERVAL_S, age / 10), option("FOLLOW_MAX_INTERVAL_S"))
    if not expected_s:
        return near
    # A recorded duration holds up to one check interval of our own lag: start early.
    until_end = expected_s - (option("FOLLOW_MAX_INTERVAL_S") + EARLY_S) - age
    if until_end > CLOSE_INTERVAL_S and age >= 1:  # a fast failure is still seen soon
        return min(FAR_INTERVAL_S, until_end)
    if age <= expected_s * 1.2 + 2:
        return min(near, CLOSE_INTERVAL_S)
    return near  # longer than usual: back to the plain back-off


_expected: dict[int, tuple[float, float | None]] = {}
_expected_lock = threading.Lock()


def expected_duration_s(schedule_id: int) -> float | None:
    """How long the schedule's runs take: the shortest of its last 5 successful runs
    (one is enough), cached a minute. The shortest, because a recorded duration also
    holds the time it took us to see the end."""
    with _expected_lock:
        cached = _expected.get(schedule_id)
    # Known: kept a minute. Not known yet: asked again soon (the first run may end).
    if cached and time.monotonic() - cached[0] < (60 if cached[1] else 5):
        return cached[1]
    durations = list(
        ScheduleRun.objects.filter(schedule_id=schedule_id, status=RunStatus.SUCCESS)
        .exclude(duration_ms=None)
        .order_by("-pk")
        .values_list("duration_ms", flat=True)[:5]
    )
    value = min(durations) / 1000 if durations else None
    with _expected_lock:
        _expected[schedule_id] = (time.monotonic(), value)
    return value


class Deferred:
    """Writes gathered from the check threads and made together, in one transaction per
    pass: next-check times and outcomes. On SQLite, with one writer, thirty-two threads
    each taking the write lock for its own small write spent most of their time in the
    busy handler's sleeps; a thousand runs ending at once now cost a few commits.

    Each write runs in a savepoint: one the database refuses is logged and dropped
    (its run's check lease brings it back), the others land. A blip retries the lot."""

    def __init__(self, follower: str) -> None:
        self.follower = follower
        self._lock = threading.Lock()
        self._items: list[tuple[str, Callable[[], object]]] = []
        self._successes: list[tuple[ScheduleRun, Outcome]] = []

    def add(self, what: str, write: Callable[[], object]) -> None:
        with self._lock:
            self._items.append((what, write))

    def add_success(self, run: ScheduleRun, outcome: Outcome) -> None:
        with self._lock:
            self._successes.append((run, outcome))

    def flush(self) -> int:
        with self._lock:
            items, self._items = self._items, []
            successes, self._successes = self._successes, []
        items += self._record_successes(successes)
        if not items:
            return len(successes)

        def write_all() -> None:
            with transaction.atomic():
                for what, write in items:
                    try:
                        with transaction.atomic():
                            write()
                    except Exception as exc:
                        if is_blip(exc):
                            raise
                        log.exception("follower: %s not stored (%s)", what, type(exc).__name__)

        try:
            until_it_lands(write_all, f"{len(items)} follower writes", budget_s=10)
        except Exception as exc:  # noqa: BLE001 - the claims' leases bring them back
            log.warning("follower: %s writes not stored (%s)", len(items), type(exc).__name__)
            connection.close()
        return len(items) + len(successes)

    def _record_successes(self, successes: list) -> list[tuple[str, Callable[[], object]]]:
        """Plain successes in a few statements (engine/batch_outcomes.py); returns the
        one-by-one writes for those it could not take."""
        closed: set[int] = set()
        if successes:
            try:
                closed = until_it_lands(
                    lambda: record_successes(successes, follower=self.follower),
                    f"{len(successes)} successes",
                    budget_s=10,
                )
            except Exception as exc:  # noqa: BLE001 - each is tried on its own below
                log.warning("follower: successes not stored together (%s)", type(exc).__name__)
                connection.close()
        rest = []
        for run, outcome in successes:
            if run.pk in closed:
                _closed(run, outcome, "")
            else:
                rest.append(
                    (
                        f"run {run.pk}: outcome",
                        lambda r=run, o=outcome: _close_now(r, self.follower, o, ""),
                    )
                )
        return rest


_deferred: Deferred | None = None


def claim_due(follower: str, now: datetime, limit: int, only_pk: int | None = None) -> list[int]:
    """Take up to ``limit`` runs whose check is due, for this follower."""
    if limit <= 0:
        return []
    with transaction.atomic():
        due = ScheduleRun.objects.due_for_check(now)
        if only_pk is not None:
            due = due.filter(pk=only_pk)
        due = due.select_for_update(skip_locked=True)
        # Runs in flight first: an import (of a run already recorded) only takes what
        # room is left, so a wave of imports never delays an outcome.
        pks = list(due.filter(status=RunStatus.RUNNING).values_list("pk", flat=True)[:limit])
        if len(pks) < limit:
            rest = due.exclude(status=RunStatus.RUNNING).values_list("pk", flat=True)
            pks += list(rest[: min(limit - len(pks), IMPORTS_PER_CLAIM)])
        if pks:
            ScheduleRun.objects.filter(pk__in=pks).update(
                next_check_at=now + timedelta(seconds=CHECK_LEASE_S), follower=follower
            )
    return pks


def claimed_runs(pks: list[int], follower: str) -> dict[int, ScheduleRun]:
    """The claimed runs, loaded together (one query for a pass, not one per check)."""
    return (
        ScheduleRun.objects.select_related("schedule__target")
        .filter(pk__in=pks, follower=follower)
        .in_bulk()
    )


def step(
    run_pk: int, follower: str, run: ScheduleRun | None = None, now: datetime | None = None
) -> str:
    """One look at one claimed run (``run``: as claimed_runs loaded it; ``now``: the
    database time of the claim, which spares a round trip per check on PostgreSQL);
    returns what happened (for logs and tests)."""
    if run is None:
        run = claimed_runs([run_pk], follower).get(run_pk)
    if run is None:
        return "taken over"
    now = now or db_now()
    if run.status != RunStatus.RUNNING:
        if run.import_status == ImportStatus.PENDING:
            return _import(run, follower)
        _release(run, follower)
        return "nothing to do"
    if run.stage == RunStage.FOLLOWING:
        return _follow(run, follower, now)
    if run.stage == RunStage.REATTACHING:
        return _reattach(run, follower, now)
    if run.stage == RunStage.CANCELLING:
        return _cancel(run, follower, now)
    if run.stage == RunStage.ANSWERING:
        from scheduler_admin.engine.approvals import resume

        return resume(run, follower)
    _release(run, follower)  # a worker has it (submitting, executing)
    return "held by a worker"


def _mine(run: ScheduleRun, follower: str, **filters):
    return ScheduleRun.objects.filter(pk=run.pk, follower=follower, **filters)


def _release(run: ScheduleRun, follower: str) -> None:
    until_it_lands(
        lambda: _mine(run, follower).update(next_check_at=None, follower=""),
        f"run {run.pk}: releasing it",
    )


def _again_in(
    run: ScheduleRun, follower: str, seconds: float, now: datetime | None = None, **changes
) -> None:
    """Check again in ``seconds`` (never past the deadline, where it must be closed)."""
    when = (now or db_now()) + timedelta(seconds=seconds)
    if run.deadline_at and run.stage == RunStage.FOLLOWING:
        when = min(when, run.deadline_at)
    mine = _mine(run, follower, status=RunStatus.RUNNING, stage=run.stage)
    if _deferred is not None and "stage" not in changes:
        _deferred.add(
            f"run {run.pk}: next check", lambda: mine.update(next_check_at=when, **changes)
        )
        return
    until_it_lands(
        lambda: mine.update(next_check_at=when, **changes),
        f"run {run.pk}: scheduling its next check",
    )


def _close(run: ScheduleRun, follower: str, outcome: Outcome, *, note: str = "") -> str:
    """Record the run's outcome (in a follower process: with the pass's other writes)."""
    if _deferred is not None and follower == _deferred.follower:
        if outcome.status == "success" and not note:
            _deferred.add_success(run, outcome)
        else:
            _deferred.add(
                f"run {run.pk}: outcome", lambda: _close_now(run, follower, outcome, note)
            )
        return outcome.status
    return _close_now(run, follower, outcome, note)


def _close_now(run: ScheduleRun, follower: str, outcome: Outcome, note: str) -> str:
    recorded = record_outcome(
        run, outcome, follower=follower, import_trace=bool(outcome.session_id or run.session_id)
    )
    if recorded:
        _closed(run, outcome, note)
    return outcome.status if recorded else "taken over"


def _closed(run: ScheduleRun, outcome: Outcome, note: str) -> None:
    request = build_request(run)
    log.info("run %s: %s on %s: %s", run.pk, request.endpoint, request.target.name, outcome.status)
    # The scheduler's trace of the run is written with the import, off the path of the
    # outcome (it cost twice the outcome's own write); here if nothing follows.
    if note or run.import_status != ImportStatus.PENDING:
        finish_followed(
            request, outcome, checks=run.checks, followed_since=run.request_sent_at, note=note
        )


def _follow(run: ScheduleRun, follower: str, now: datetime) -> str:
    request = build_request(run)
    outcome, why = remote_runs.check(request, run.run_id, run.session_id)
    run.checks += 1
    if outcome is not None:  # ended, even if we look only at (or after) its deadline
        outcome.run_id = outcome.run_id or run.run_id
        outcome.session_id = outcome.session_id or run.session_id
        return _close(run, follower, outcome)
    if run.deadline_at and now >= run.deadline_at:
        remote_runs.cancel(request, run.run_id, run.session_id)
        timeout = request.timeout_s
        outcome = Outcome(
            status="timeout",
            error=f"Timed out after {timeout:g} s; run {run.run_id} was still running "
            "(cancelled on the server)",
            retryable=True,
            run_id=run.run_id,
            session_id=run.session_id,
        )
        return _close(run, follower, outcome)
    wait = interval_s(run, now, expected_duration_s(run.schedule_id))
    _again_in(run, follower, wait, now, checks=F("checks") + 1)
    return why


def _reattach(run: ScheduleRun, follower: str, now: datetime) -> str:
    """The submit was sent but its answer lost: find the run before sending anything."""
    if run.run_id:  # the worker stored it after all
        _again_in(run, follower, 0, stage=RunStage.FOLLOWING)
        return "following"
    request = build_request(run)
    run_id, definite = remote_runs.find(request, run.session_id, run.request_sent_at)
    if run_id:
        changes = run.reattach_changes(
            f"found run {run_id} on the server by its session; following it"
        )
        until_it_lands(
            lambda: _mine(
                run, follower, status=RunStatus.RUNNING, stage=RunStage.REATTACHING
            ).update(run_id=run_id, stage=RunStage.FOLLOWING, next_check_at=now, **changes),
            f"run {run.pk}: re-attaching",
        )
        return "re-attached"
    sent = run.request_sent_at or run.started_at or now
    waited = (now - sent).total_seconds()
    past_deadline = run.deadline_at and now >= run.deadline_at
    if not definite:
        if past_deadline and now >= run.deadline_at + timedelta(seconds=GIVE_UP_AFTER_S):
            # Never retried: it might exist on the server, and one attempt runs once.
            outcome = Outcome.failure(
                "The agent server never said whether it received this run; not sent again",
                retryable=False,
            )
            return _close(run, follower, outcome)
        _again_in(run, follower, 5)
        return "server did not answer"
    if waited < submit_grace_s():
        _again_in(run, follower, 2)
        return "not found yet"
    if past_deadline:
        outcome = Outcome.failure(
            "The submit's answer was lost and the server has no such run", retryable=True
        )
        return _close(run, follower, outcome)
    # Certainly not on the server: the same attempt (same key, same session) again.
    changes = run.reattach_changes(
        "the server never received the submit; sending the same attempt again"
    )
    until_it_lands(
        lambda: _mine(run, follower, status=RunStatus.RUNNING, stage=RunStage.REATTACHING).update(
            status=RunStatus.QUEUED,
            stage=RunStage.NONE,
            follower="",
            next_check_at=None,
            started_at=None,
            request_sent_at=None,
            deadline_at=None,
            dispatched_at=None,
            not_before=now,
            **changes,
        ),
        f"run {run.pk}: queuing it again",
    )
    return "queued again"


def _cancel(run: ScheduleRun, follower: str, now: datetime) -> str:
    if run.worker and run.lease_expires_at and run.lease_expires_at > now:
        _again_in(run, follower, 1)  # the worker is still submitting it
        return "waiting for the worker"
    request = build_request(run)
    if request.target.is_local:
        # A local run no worker holds (paused, or answered and not yet continued): no
        # server to tell; it is never continued once cancelling.
        outcome = Outcome(status="cancelled", run_id=run.run_id, session_id=run.session_id)
        return "cancelled" if record_outcome(run, outcome, follower=follower) else "taken over"
    run_id = run.run_id
    if not run_id and run.request_sent_at:
        run_id, definite = remote_runs.find(request, run.session_id, run.request_sent_at)
        waited = (now - run.request_sent_at).total_seconds()
        if not run_id and (not definite or waited < submit_grace_s()):
            _again_in(run, follower, 2)
            return "looking for the run to cancel"
    note = ""
    if run_id:
        done, why = remote_runs.cancel(request, run_id, run.session_id)
        late = run.deadline_at and now > run.deadline_at + timedelta(seconds=60)
        if not done and not late:
            _again_in(run, follower, 2)
            return f"cancel failed: {why}"
        note = "cancelled on the server" if done else f"the server could not be told: {why}"
    outcome = Outcome(status="cancelled", run_id=run_id, session_id=run.session_id)
    return _close(run, follower, outcome, note=note)


def _import(run: ScheduleRun, follower: str) -> str:
    from agentos_bridge.remote_traces import import_run

    request = build_request(run)
    kind = (remote_runs.component(request.endpoint) or ("agents", ""))[0]
    outcome = Outcome(
        status=run.status,
        status_code=run.status_code,
        error=run.error,
        run_id=run.run_id,
        session_id=run.session_id,
    )
    if not Trace.objects.filter(trace_id=trace_id_for(run.pk)).exists():
        finish_followed(request, outcome, checks=run.checks, followed_since=run.request_sent_at)
    try:
        summary = import_run(request, kind, outcome, run.request_sent_at, wait=False)
        result = ImportStatus.DONE
    except Exception as exc:  # noqa: BLE001 - an import never changes the outcome
        log.warning("run %s: import failed: %s", run.pk, type(exc).__name__)
        summary, result = type(exc).__name__, ImportStatus.FAILED
    young = run.completed_at and (db_now() - run.completed_at).total_seconds() < TRACE_LATE_S
    if result == ImportStatus.DONE and "no trace" in summary and young:
        # Traces are exported a little after the run ends: look again shortly (a server
        # with tracing off costs a few quick requests, never a blocked thread).
        until_it_lands(
            lambda: _mine(run, follower).update(next_check_at=db_now() + timedelta(seconds=2)),
            f"run {run.pk}: importing its trace again later",
        )
        return "trace not exported yet"
    until_it_lands(
        lambda: _mine(run, follower).update(import_status=result, next_check_at=None, follower=""),
        f"run {run.pk}: storing its import",
    )
    return f"imported: {summary}"


def _step_safely(run_pk: int, follower: str, run: ScheduleRun | None, now: datetime) -> str:
    """A step in a pool thread. The thread keeps its database connection from step to
    step (opening one per check was a fifth of the follower's time); a failed step
    drops it, and the next one opens a fresh connection."""
    if run is None:
        return "taken over"
    try:
        return step(run_pk, follower, run, now)
    except Exception as exc:  # noqa: BLE001 - the run is due again when the lease passes
        log.exception("run %s: follow step failed (%s); retried later", run_pk, type(exc).__name__)
        connection.close()
        return "error"


def run_forever(stop: threading.Event, *, concurrency: int | None = None) -> None:
    """Claim and check due runs until ``stop`` is set (SIGTERM/SIGINT in the command)."""
    global _deferred
    concurrency = concurrency or option("FOLLOW_CONCURRENCY")
    follower = follower_name()
    log.info("follower %s started (%s at once)", follower, concurrency)
    pending: set = set()
    _deferred = deferred = Deferred(follower)
    with ThreadPoolExecutor(concurrency, thread_name_prefix="follow") as pool:
        while not stop.is_set():
            try:
                with beat("follower"):
                    claimed, pending = _one_pass(pool, follower, concurrency, pending, deferred)
            except Exception as exc:  # noqa: BLE001 - a database blip: try again shortly
                log.warning("follower: pass failed (%s); retrying", type(exc).__name__)
                connection.close()
                stop.wait(1.0)
                continue
            if not claimed:
                stop.wait(option("FOLLOW_POLL_S"))
        log.info("follower %s stopping; finishing %s checks", follower, len(pending))
    deferred.flush()
    _deferred = None
    log.info("follower %s stopped", follower)


def _one_pass(pool, follower: str, concurrency: int, pending: set, deferred: Deferred):
    """Claim what is due, hand it to the pool, store the next check times gathered."""
    now = db_now()
    claimed = claim_due(follower, now, concurrency - len(pending))
    runs = claimed_runs(claimed, follower) if claimed else {}
    pending = pending | {
        pool.submit(_step_safely, pk, follower, runs.get(pk), now) for pk in claimed
    }
    if pending:
        _done, pending = wait(pending, timeout=0.05, return_when=FIRST_COMPLETED)
    deferred.flush()
    return claimed, pending


def follow_until_done(run_pk: int, *, budget_s: float | None = None) -> str:
    """Follow one run in this thread until it has ended and been imported (inline and
    thread dispatch: tests and demos without a follower process)."""
    follower = f"{follower_name()}:{threading.get_ident()}"
    run = ScheduleRun.objects.select_related("schedule").get(pk=run_pk)
    deadline = time.monotonic() + (budget_s or run.schedule.timeout_s + 120)
    while time.monotonic() < deadline:
        for pk in claim_due(follower, db_now(), 1, only_pk=run_pk):
            step(pk, follower)
        run.refresh_from_db(fields=["status", "next_check_at", "import_status"])
        if run.status != RunStatus.RUNNING and run.next_check_at is None:
            return run.status
        if run.status == RunStatus.QUEUED:
            return run.status
        time.sleep(0.05)
    return run.status
