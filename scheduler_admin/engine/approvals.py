"""Human in the loop: a run that paused for a person is answered here, once.

A run the agent server reports PAUSED is closed as ``paused`` with its requirements
(engine/outcomes.py stamps ``paused_at`` and, by the schedule's ``pause_timeout_s``,
``pause_expires_at``). From there:

- ``answer`` stores a person's answer with one conditional UPDATE, paused → running /
  answering, so of two people answering at once exactly one wins; the answer is written
  *before* anything is sent. Then the answer goes to the agent server
  (``POST …/runs/{run_id}/continue``) and the run is followed again like any other:
  running / following, checked now, with a fresh deadline.
- ``resume`` is the follower's step for a run left answering (the answer's request was
  lost, the process died, or the expiry step answered it): it asks the server first and
  sends the stored answer again only while the server still has the run paused at the
  same step.
- A run of the built-in local runtime is continued by a worker instead
  (engine/local_answers.py): same answer, same stages, no agent server.
- ``expire_paused`` (a scheduler step) rejects or cancels runs whose pause timed out.
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction

from agentos_bridge import remote_runs
from agentos_bridge.outcome import Outcome
from scheduler_admin import validators
from scheduler_admin.engine import local_answers
from scheduler_admin.engine.audit import record
from scheduler_admin.engine.clock import db_now
from scheduler_admin.engine.db_retry import until_it_lands
from scheduler_admin.engine.execution import build_request
from scheduler_admin.models import PauseTimeoutAction, RunStage, RunStatus, ScheduleRun

log = logging.getLogger(__name__)

APPROVE, REJECT = "approve", "reject"
# How long an answering run stays with the process that stored the answer before a
# follower takes it over (the continue call itself is bounded well below this).
ANSWER_LEASE_S = 60.0
MAX_NOTE = 2000


class AnswerError(Exception):
    """The answer cannot be given; ``errors`` names the fields a form should mark."""

    def __init__(self, message: str, errors: dict | None = None):
        super().__init__(message)
        self.errors = errors or {}


class AlreadyAnswered(AnswerError):
    """Someone else's answer won (or the run is no longer paused)."""


def questions(run: ScheduleRun) -> list[dict]:
    """What a paused run asks, one entry per requirement, in a shape templates, the API
    and agent tools share: step or tool, message, arguments, input fields."""
    items = run.requirements if isinstance(run.requirements, list) else []
    found = []
    for item in items:
        if not isinstance(item, dict):
            continue
        tool = item.get("tool_execution") if isinstance(item.get("tool_execution"), dict) else {}
        source = tool or item
        asks_input = bool(source.get("requires_user_input"))
        found.append(
            {
                "step": item.get("step_name") or tool.get("tool_name") or "",
                "tool_args": tool.get("tool_args") if tool else None,
                "kind": "input" if asks_input else "confirmation",
                "message": (
                    source.get("user_input_message")
                    or source.get("confirmation_message")
                    or item.get("confirmation_message")
                    or ""
                ),
                "fields": [
                    f
                    for f in (source.get("user_input_schema") or [])
                    if isinstance(f, dict) and f.get("name")
                ],
            }
        )
    return found


def can_answer_here(run: ScheduleRun) -> bool:
    """What the console can answer: workflow step requirements, on an AgentOS
    (``POST …/continue`` with ``step_requirements``) and on the built-in local runtime
    (its paused runs are kept in a pause store and continued by a worker:
    engine/local_answers.py); and an agent's or team's tool approvals on an AgentOS
    (the tool executions go back as ``tools``, or a team's ``requirements``). Not (yet):
    tool approvals of the local runtime's agents and teams."""
    request = build_request(run)
    kind = remote_runs.component(request.endpoint)
    return bool(
        kind
        and (kind[0] == "workflows" or not request.target.is_local)
        and run.run_id
        and questions(run)
    )


def build_answer(run: ScheduleRun, decision: str, note: str = "", values: dict | None = None):
    """The requirements to send back, answered. Raises AnswerError on a bad answer."""
    if decision not in (APPROVE, REJECT):
        raise AnswerError("The decision must be approve or reject.", {"decision": "Unknown."})
    note = (note or "").strip()[:MAX_NOTE]
    answered, clean_values = [], {}
    for item in run.requirements if isinstance(run.requirements, list) else []:
        if not isinstance(item, dict):
            continue
        item = {key: value for key, value in item.items() if key != "step_input"}
        if isinstance(item.get("tool_execution"), dict):
            item = _answer_tool(item, decision, note, values, clean_values)
            answered.append(item)
            continue
        if item.get("requires_user_input") and decision == APPROVE:
            clean, errors = validators.clean_user_input(
                item.get("user_input_schema") or [], values or {}
            )
            if errors:
                raise AnswerError("Some fields need another look.", errors)
            item["user_input"] = clean
            item["user_input_schema"] = [
                {**field, "value": clean.get(field.get("name"))}
                for field in item.get("user_input_schema") or []
                if isinstance(field, dict)
            ]
            clean_values.update(clean)
        if item.get("requires_confirmation") or decision == REJECT:
            item["confirmed"] = decision == APPROVE
            if decision == REJECT:
                item["rejection_feedback"] = note or None
        answered.append(item)
    summary = {"decision": decision, "note": note, "values": clean_values}
    return answered, summary


def _answer_tool(item: dict, decision: str, note: str, values, clean_values: dict) -> dict:
    """An agent's or team's requirement (a tool execution) answered as agno's
    ``RunRequirement.confirm/reject/provide_user_input`` would: on the requirement and
    on its tool execution, which is what AgentOS reads back."""
    tool = dict(item["tool_execution"])
    if tool.get("requires_user_input") and decision == APPROVE:
        clean, errors = validators.clean_user_input(
            tool.get("user_input_schema") or [], values or {}
        )
        if errors:
            raise AnswerError("Some fields need another look.", errors)
        filled = [
            {**field, "value": clean.get(field.get("name"))}
            for field in tool.get("user_input_schema") or []
            if isinstance(field, dict)
        ]
        tool["user_input_schema"] = item["user_input_schema"] = filled
        tool["answered"] = True
        clean_values.update(clean)
    if tool.get("requires_confirmation") or decision == REJECT:
        tool["confirmed"] = item["confirmation"] = decision == APPROVE
        if decision == REJECT:
            tool["confirmation_note"] = item["confirmation_note"] = note or None
    return {**item, "tool_execution": tool}


def answer(
    run: ScheduleRun,
    *,
    user,
    decision: str,
    note: str = "",
    values: dict | None = None,
    send_now: bool = True,
) -> ScheduleRun:
    """Answer a paused run for ``user`` (None: the system). Exactly one answer wins;
    the others get AlreadyAnswered. With ``send_now`` the answer goes to the agent
    server in this call (bounded); otherwise a follower sends it."""
    if run.status != RunStatus.PAUSED:
        if run.answered_at and (run.paused_at is None or run.answered_at >= run.paused_at):
            # Its pause was answered: whoever comes second is told who came first.
            first = run.answered_by_name or "Someone else"
            raise AlreadyAnswered(f"{first} answered this run first.")
        raise AlreadyAnswered(f"This run is {run.status}: it no longer waits for an answer.")
    if not can_answer_here(run):
        raise AnswerError("This run's questions cannot be answered from the console.")
    requirements, summary = build_answer(run, decision, note, values)
    who = user if getattr(user, "is_authenticated", False) else None
    holder = f"answer:{who.pk if who else 'system'}:{run.pk}" if send_now else ""
    with transaction.atomic():
        now = db_now()
        won = ScheduleRun.objects.filter(pk=run.pk, status=RunStatus.PAUSED).update(
            status=RunStatus.RUNNING,
            stage=RunStage.ANSWERING,
            answer={**summary, "step_requirements": requirements},
            answered_by=who,
            answered_by_name=who.get_username() if who else "system",
            answered_at=now,
            completed_at=None,
            pause_expires_at=None,
            error="",
            follower=holder,
            # The holder sends it now; should it die, a follower takes over later.
            next_check_at=now + timedelta(seconds=ANSWER_LEASE_S if send_now else 0),
            deadline_at=now + timedelta(seconds=build_request(run).timeout_s),
        )
        if not won:
            raise AlreadyAnswered("Someone else answered this run first.")
        text = f"{decision}d" + (f": {summary['note']}" if summary["note"] else "")
        if summary["values"]:
            text += f" with {summary['values']}"
        record(user, "answered", run.schedule, run=run, note=text)
    run.refresh_from_db()
    log.info("run %s: %s by %s", run.pk, decision, run.answered_by_name)
    if send_now:
        deliver(run, holder)
        run.refresh_from_db()
    return run


def deliver(run: ScheduleRun, holder: str) -> str:
    """Send the stored answer. On "sent" (or 409: the server has moved on) the run is
    followed again; on a lost answer it stays answering and a follower asks the server
    before sending again; a refusal closes it as failed."""
    from scheduler_admin.engine.follow import _close

    request = build_request(run)
    if request.target.is_local:
        return local_answers.hand_to_worker(run, holder)
    sent = remote_runs.continue_run(
        request, run.run_id, run.session_id, run.answer.get("step_requirements") or []
    )
    mine = ScheduleRun.objects.filter(
        pk=run.pk, follower=holder, status=RunStatus.RUNNING, stage=RunStage.ANSWERING
    )
    if sent.state in ("sent", "not paused"):
        until_it_lands(
            lambda: mine.update(stage=RunStage.FOLLOWING, next_check_at=db_now(), follower=""),
            f"run {run.pk}: following it after the answer",
        )
        return "answer sent"
    if sent.state == "unknown":
        log.warning("run %s: the answer's delivery is unknown (%s)", run.pk, sent.detail[:200])
        until_it_lands(
            lambda: mine.update(next_check_at=db_now() + timedelta(seconds=2), follower=""),
            f"run {run.pk}: checking its answer later",
        )
        return "answer unknown"
    outcome = Outcome.failure(
        f"The agent server refused the answer: {sent.detail}",
        retryable=False,
        run_id=run.run_id,
        session_id=run.session_id,
    )
    return _close(run, holder, outcome)


def resume(run: ScheduleRun, follower: str) -> str:
    """The follower's step for an answering run: ask the server first, then send the
    stored answer only if the run still waits at the step it answers."""
    from scheduler_admin.engine.follow import _close

    request = build_request(run)
    if request.target.is_local:
        # No worker took the answer within its lease (the message was lost, or waits
        # behind long runs): send it again; the worker's claim makes a copy harmless.
        return local_answers.hand_to_worker(run, follower)
    outcome, why = remote_runs.check(request, run.run_id, run.session_id)
    if outcome is None and why not in ("running", "pending"):
        until_it_lands(
            lambda: ScheduleRun.objects.filter(pk=run.pk, follower=follower).update(
                next_check_at=db_now() + timedelta(seconds=2)
            ),
            f"run {run.pk}: checking its answer later",
        )
        return f"answer waits: {why}"
    if outcome is None:  # the continuation is under way on the server
        until_it_lands(
            lambda: ScheduleRun.objects.filter(
                pk=run.pk, follower=follower, status=RunStatus.RUNNING, stage=RunStage.ANSWERING
            ).update(stage=RunStage.FOLLOWING, next_check_at=db_now()),
            f"run {run.pk}: following it after the answer",
        )
        return "following"
    if outcome.status == "paused" and _steps(outcome.requirements) == _steps(
        run.answer.get("step_requirements")
    ):
        return deliver(run, follower)  # still waiting at the step we answered
    return _close(run, follower, outcome)  # ended, or paused again at a later step


def _steps(requirements) -> list:
    """What a run waits at: its workflow steps, or its agent's tool calls."""
    items = requirements if isinstance(requirements, list) else []
    return sorted(
        str(item.get("step_id") or item.get("step_name") or _tool_call(item))
        for item in items
        if isinstance(item, dict)
    )


def _tool_call(item: dict) -> str | None:
    tool = item.get("tool_execution")
    return tool.get("tool_call_id") if isinstance(tool, dict) else None


def expire_paused(now: datetime) -> list[int]:
    """Scheduler step: runs that waited past their schedule's pause timeout are
    rejected (answered "no" by the system; a follower sends it) or cancelled on the
    server (a follower cancels them), by the schedule's ``pause_timeout_action``."""
    done = []
    for run in ScheduleRun.objects.pause_expired(now).select_related("schedule__target")[:100]:
        note = "No answer within the pause timeout"
        if run.schedule.pause_timeout_action == PauseTimeoutAction.CANCEL:
            with transaction.atomic():
                moved = ScheduleRun.objects.filter(pk=run.pk, status=RunStatus.PAUSED).update(
                    status=RunStatus.RUNNING,
                    stage=RunStage.CANCELLING,
                    answer={"decision": "cancel", "note": note, "values": {}},
                    answered_by=None,
                    answered_by_name="system",
                    answered_at=now,
                    completed_at=None,
                    pause_expires_at=None,
                    next_check_at=now,
                    follower="",
                )
                if moved:
                    record(None, "cancelled", run.schedule, run=run, note=note)
        else:
            try:
                answer(run, user=None, decision=REJECT, note=note, send_now=False)
                moved = 1
            except AnswerError as exc:
                # Nothing the console can send (or someone answered meanwhile): stop
                # looking at it; it stays in the inbox for a person.
                log.info("run %s: pause expired but not answerable: %s", run.pk, exc)
                ScheduleRun.objects.filter(pk=run.pk, status=RunStatus.PAUSED).update(
                    pause_expires_at=None
                )
                moved = 0
        if moved:
            log.info("run %s: pause expired (%s)", run.pk, run.schedule.pause_timeout_action)
            done.append(run.pk)
    return done
