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
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.db import transaction

from agentos_bridge import remote_runs
from agentos_bridge.firing_trace import FiringTrace, trace_id_for
from scheduler_admin.engine.clock import db_now
from scheduler_admin.engine.db_retry import until_it_lands
from scheduler_admin.engine.execution import (
    BUSY_WAIT_S,
    LeaseKeeper,
    build_request,
    claim_run,
    send_submit,
    store_submit,
)
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
    claimed, held = until_it_lands(
        lambda: _claim(mine, runs, requests, worker), f"claiming {len(mine)} runs"
    )
    results = {pk: "held" for pk in held}
    results.update({pk: "duplicate" for pk in mine if pk not in claimed and pk not in held})
    if not claimed:
        return results
    for pk in claimed:
        runs[pk].refresh_from_db()
        requests[pk].claimed_at = runs[pk].started_at
    traces = {pk: FiringTrace(requests[pk], trace_id=trace_id_for(pk)) for pk in claimed}
    with LeaseKeeper(list(claimed), worker):
        with ThreadPoolExecutor(len(claimed), thread_name_prefix="submit") as pool:
            sent = dict(
                zip(
                    claimed,
                    pool.map(lambda pk: send_submit(requests[pk], traces[pk]), claimed),
                    strict=True,
                )
            )

    def store() -> dict[int, str]:
        with transaction.atomic():
            return {
                pk: store_submit(runs[pk], requests[pk], worker, sent[pk], traces[pk])
                for pk in claimed
            }

    results.update(until_it_lands(store, f"storing {len(claimed)} submits"))
    return results


def _claim(pks, runs, requests, worker) -> tuple[list[int], list[int]]:
    """Claim and mark sent, in one transaction, the runs each target has room for; the
    others wait queued (not failed, not skipped) and are sent again shortly."""
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
            for pk in group:
                request = requests[pk]
                if room <= 0:
                    ScheduleRun.objects.filter(pk=pk, status=RunStatus.QUEUED).update(
                        dispatched_at=None, not_before=now + timedelta(seconds=BUSY_WAIT_S)
                    )
                    held.append(pk)
                    continue
                if claim_run(
                    pk,
                    worker,
                    now,
                    stage=RunStage.SUBMITTING,
                    request_sent_at=now,
                    deadline_at=now + timedelta(seconds=request.timeout_s),
                    session_id=remote_runs.session_for(request)[:64],
                ):
                    claimed.append(pk)
                    room -= 1
    if held:
        log.info("%s runs wait: their agent server is at its max_in_flight", len(held))
    return claimed, held
