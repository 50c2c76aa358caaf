"""Start a batch of background runs (one django-q2 task) with few database writes.

A burst of due runs on SQLite is limited by its one writer, not by the agent server:
claiming, and storing each run id, one transaction per run, let a thousand due runs
queue behind each other's commits. Here a batch is claimed in one transaction (per
target, within its ``max_in_flight``), the submits go out side by side with no
database work, and what they learned is stored in one transaction. Every step is as
conditional as the one-run path (engine/execution.py), so a second delivery of the
batch, or of one of its runs, does nothing.
"""

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.db import transaction

from agentos_bridge import remote_runs
from agentos_bridge.firing_trace import FiringTrace, trace_id_for
from scheduler_admin.engine.clock import db_now
from scheduler_admin.engine.db_retry import until_it_lands
from scheduler_admin.engine.dispatch import MAX_RUNS_PER_TASK
from scheduler_admin.engine.execution import (
    BUSY_WAIT_S,
    FIRST_CHECK_S,
    LeaseKeeper,
    build_request,
    claim_fields,
    send_submit,
    store_submit,
)
from scheduler_admin.engine.on_time import wait_for_scheduled_time
from scheduler_admin.engine.row_updates import update_runs
from scheduler_admin.models import RunStage, RunStatus, ScheduleRun, Target

log = logging.getLogger(__name__)


def start_background_runs(run_pks: list[int], worker: str) -> dict[int, str]:
    """Start the batch's background runs; returns what happened to each of them (runs
    that are not background runs on an agent server are left out, for the caller)."""
    runs = {
        run.pk: run
        for run in ScheduleRun.objects.select_related("schedule__target").filter(
            pk__in=run_pks, status=RunStatus.QUEUED
        )
    }
    requests = {pk: build_request(run) for pk, run in runs.items()}
    mine = [pk for pk in run_pks if pk in runs and remote_runs.is_background_run(requests[pk])]
    if not mine:
        return {}
    wait_for_scheduled_time(mine)  # loaded and built ahead; claimed and sent on time
    claimed, held = until_it_lands(
        lambda: _claim(mine, runs, requests, worker), f"claiming {len(mine)} runs"
    )
    results = {pk: "held" for pk in held}
    results.update({pk: "duplicate" for pk in mine if pk not in claimed and pk not in held})
    if not claimed:
        return results
    for pk in claimed:
        requests[pk].claimed_at = runs[pk].started_at
    traces = {pk: FiringTrace(requests[pk], trace_id=trace_id_for(pk)) for pk in claimed}
    with LeaseKeeper(list(claimed), worker):
        sends = submit_pool().map(lambda pk: send_submit(requests[pk], traces[pk]), claimed)
        sent = dict(zip(claimed, sends, strict=True))

    def store() -> dict[int, str]:
        with transaction.atomic():
            stored = _store_run_ids({pk: sent[pk] for pk in claimed}, worker)
            # The rest one by one: definite outcomes, busy answers, lost answers, and
            # runs that changed hands or stage meanwhile (reaped, being cancelled).
            return stored | {
                pk: store_submit(runs[pk], requests[pk], worker, sent[pk], traces[pk])
                for pk in claimed
                if pk not in stored
            }

    results.update(until_it_lands(store, f"storing {len(claimed)} submits"))
    return results


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def submit_pool() -> ThreadPoolExecutor:
    """This process's submit threads, kept between batches: starting 250 threads for
    every burst cost a worker a quarter of a second before its last submit left."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(MAX_RUNS_PER_TASK, thread_name_prefix="submit")
        return _pool


def _claim(pks, runs, requests, worker) -> tuple[list[int], list[int]]:
    """Claim and mark sent, in one transaction, the runs each target has room for; the
    others wait queued (not failed, not skipped) and are sent again shortly. The runs in
    ``runs`` are updated in memory to what the claim wrote."""
    claimed, held = [], []
    with transaction.atomic():
        now = db_now()
        by_target: dict[int, list[int]] = {}
        for pk in pks:
            by_target.setdefault(runs[pk].schedule.target_id, []).append(pk)
        for target_id, group in by_target.items():
            # Claimers of one target take turns (the row lock on PostgreSQL, the write
            # lock on SQLite), so the count stays true until the claims commit.
            target = Target.objects.select_for_update().get(pk=target_id)
            room = target.max_in_flight - ScheduleRun.objects.in_flight_on(target_id).count()
            # Locked, not skipped: a row another transaction holds (a scheduler marking
            # it dispatched) is waited for, not mistaken for someone else's claim.
            still = ScheduleRun.objects.filter(pk__in=group, status=RunStatus.QUEUED)
            queued = set(still.select_for_update().values_list("pk", flat=True))
            waiting = [pk for pk in group if pk in queued]
            take, wait = waiting[: max(0, room)], waiting[max(0, room) :]
            if wait:
                ScheduleRun.objects.filter(pk__in=wait, status=RunStatus.QUEUED).update(
                    dispatched_at=None, not_before=now + timedelta(seconds=BUSY_WAIT_S)
                )
                held += wait
            if not take:
                continue
            fields = claim_fields(worker, now, stage=RunStage.SUBMITTING, request_sent_at=now)
            values = {
                pk: {
                    **fields,
                    "deadline_at": now + timedelta(seconds=requests[pk].timeout_s),
                    "session_id": remote_runs.session_for(requests[pk])[:64],
                }
                for pk in take
            }
            # The rows are locked (or the database is): every one is still queued, ours.
            update_runs(values, status=RunStatus.QUEUED)
            for pk, row in values.items():
                for name, value in row.items():
                    setattr(runs[pk], name, value)
            claimed += take
    if held:
        log.info("%s runs wait: their agent server is at its max_in_flight", len(held))
    return claimed, held


def _store_run_ids(sent: dict, worker: str) -> dict[int, str]:
    """The common answer, a run id, stored for the batch in one statement, on the same
    conditions as store_submit: still ours and still submitting. Returns the runs it
    stored; store_submit takes the others."""
    submitted = {
        pk: result
        for pk, result in sent.items()
        if result.run_id and result.outcome is None and result.busy_for_s is None
    }
    if not submitted:
        return {}
    first_check = db_now() + timedelta(seconds=FIRST_CHECK_S)
    update_runs(
        {
            pk: {
                "run_id": result.run_id,
                "session_id": result.session_id,
                "status_code": result.status_code,
                "stage": RunStage.FOLLOWING,
                "next_check_at": first_check,
                "worker": "",
                "lease_expires_at": None,
            }
            for pk, result in submitted.items()
        },
        status=RunStatus.RUNNING,
        worker=worker,
        stage=RunStage.SUBMITTING,
    )
    now_followed = ScheduleRun.objects.filter(
        pk__in=list(submitted), stage=RunStage.FOLLOWING, worker=""
    ).values_list("pk", "run_id")
    stored = {pk for pk, run_id in now_followed if run_id == submitted[pk].run_id}
    for pk in stored:
        log.info("run %s: submitted as %s", pk, submitted[pk].run_id)
    return dict.fromkeys(stored, "submitted")
