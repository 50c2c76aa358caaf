"""An answered run of the built-in local runtime continues in a worker.

The local runtime keeps a run that paused for a person in its pause store
(agentos_bridge/runtime/pauses.py). ``approvals.answer`` stores the answer as for any
run (paused → running/answering, one conditional UPDATE: one answer wins); then,
instead of a ``POST …/continue`` to an agent server:

- ``hand_to_worker`` sends the run to the workers (django-q2, or inline/thread in
  tests and demos), as dispatch sends a queued run;
- ``continue_local_run`` (the django-q2 task) claims it with one conditional UPDATE,
  answering → executing under a lease, and continues the agno run in this process,
  bounded by the schedule's timeout; the outcome is recorded like any local run's.

A second delivery of the task, or a copy sent again by a follower (``approvals.resume``,
when no worker took the run within the answer's lease), finds the run no longer
answering and does nothing: one answer, one continuation. A worker lost during the
continuation is a local run lost with its worker: the reaper closes it ("worker lost").
"""

import logging
from datetime import timedelta

from agentos_bridge.local import continue_local
from agentos_bridge.outcome import Outcome
from scheduler_admin.engine.clock import db_now
from scheduler_admin.engine.config import option
from scheduler_admin.engine.db_retry import until_it_lands
from scheduler_admin.engine.execution import LeaseKeeper, build_request, in_thread, worker_name
from scheduler_admin.engine.outcomes import record_outcome
from scheduler_admin.models import RunStage, RunStatus, ScheduleRun

log = logging.getLogger(__name__)

TASK = "scheduler_admin.engine.local_answers.continue_local_run"
# A handover that failed (the broker was down) is tried again by a follower this soon.
HANDOVER_RETRY_S = 2.0


def hand_to_worker(run: ScheduleRun, holder: str) -> str:
    """Send an answering local run to the workers. The run stays answering until a
    worker claims it; should the message be lost, a follower sends it again once the
    answer's lease (``next_check_at``) has passed."""
    mode = option("DISPATCH")
    try:
        if mode == "inline":
            continue_local_run(run.pk)
        elif mode == "thread":
            in_thread(continue_local_run, run.pk, name=f"continue-{run.pk}")
        elif mode == "django_q":
            from django_q.tasks import async_task

            async_task(TASK, run.pk, task_name=f"continue-{run.pk}")
    except Exception as exc:  # noqa: BLE001 - the answer is stored; a follower retries
        log.warning("run %s: answer not handed to a worker (%s)", run.pk, type(exc).__name__)
        until_it_lands(
            lambda: ScheduleRun.objects.filter(
                pk=run.pk, follower=holder, status=RunStatus.RUNNING, stage=RunStage.ANSWERING
            ).update(next_check_at=db_now() + timedelta(seconds=HANDOVER_RETRY_S), follower=""),
            f"run {run.pk}: handing its answer over later",
        )
        return "answer waits"
    return "answer handed to a worker"


def continue_local_run(run_pk: int) -> str:
    """The django-q2 task: continue an answered local run. Safe to receive twice."""
    run = ScheduleRun.objects.select_related("schedule__target").filter(pk=run_pk).first()
    if run is None or run.stage != RunStage.ANSWERING:
        return "duplicate"
    request = build_request(run)
    if not request.target.is_local:
        return "not local"
    worker = worker_name()
    now = db_now()
    claimed = ScheduleRun.objects.filter(
        pk=run_pk, status=RunStatus.RUNNING, stage=RunStage.ANSWERING
    ).update(
        stage=RunStage.EXECUTING,
        worker=worker,
        lease_expires_at=now + timedelta(seconds=option("LEASE_S")),
        deadline_at=now + timedelta(seconds=request.timeout_s),
        follower="",
        next_check_at=None,
    )
    if not claimed:
        log.info("run %s: its answer is already being continued; ignored", run_pk)
        return "duplicate"
    run.refresh_from_db()
    requirements = (run.answer or {}).get("step_requirements") or []
    log.info("run %s: continuing %s with the answer", run_pk, run.run_id)
    with LeaseKeeper(run_pk, worker):
        try:
            outcome = continue_local(request, run.run_id, run.session_id, requirements)
        except Exception as exc:  # noqa: BLE001 - recorded on the run, not swallowed
            log.error("run %s: the local continue raised %s", run_pk, type(exc).__name__)
            outcome = Outcome.failure(
                f"Internal error in the bridge: {type(exc).__name__}", retryable=False
            )
    outcome.run_id = outcome.run_id or run.run_id
    outcome.session_id = outcome.session_id or run.session_id
    log.info("run %s: %s %s", run_pk, outcome.status, outcome.error[:200])
    record_outcome(run, outcome, worker=worker)
    return outcome.status
