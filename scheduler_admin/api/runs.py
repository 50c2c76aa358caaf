"""/api/runs: run history across schedules (beyond AgentOS), and retrying a run.

The history is paged by keyset, newest first: ``?before=<run id>&limit=N`` and the
answer's ``meta.next_before`` for the next page. There is deliberately no total count:
COUNT(*) over the whole run table is the slow query on a big install.
"""

from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse

from scheduler_admin.api.http import (
    MAX_ID,
    ApiError,
    choice_param,
    int_param,
    json_response,
    path_id,
    problem,
    read_json_object,
    text_param,
    unprocessable,
    validation_problems,
)
from scheduler_admin.api.serializers import runs_for_api, to_approval, to_run
from scheduler_admin.engine import operations
from scheduler_admin.models import RunStatus, ScheduleRun, Trigger

MAX_EPOCH = 253402300799  # 9999-12-31T23:59:59Z, the last second datetime can hold


def _epoch_param(request: HttpRequest, name: str) -> datetime | None:
    value = int_param(request, name, None, 0, MAX_EPOCH)
    return datetime.fromtimestamp(value, UTC) if value is not None else None


def _filtered(request: HttpRequest):
    runs = ScheduleRun.objects.all()
    if status := choice_param(request, "status", RunStatus.values):
        runs = runs.filter(status=status)  # run_status_idx (status, -id)
    if trigger := choice_param(request, "trigger", Trigger.values):
        runs = runs.filter(trigger=trigger)
    if schedule := int_param(request, "schedule", None, 1, MAX_ID):
        runs = runs.filter(schedule_id=schedule)  # run_schedule_idx (schedule, -id)
    if target := text_param(request, "target"):
        runs = runs.filter(schedule__target__name=target)
    if since := _epoch_param(request, "since"):
        runs = runs.filter(queued_at__gte=since)
    if until := _epoch_param(request, "until"):
        runs = runs.filter(queued_at__lt=until)
    if q := text_param(request, "q"):
        runs = runs.filter(error__icontains=q)
    return runs


def run_list(request: HttpRequest, user) -> JsonResponse:
    runs = _filtered(request)
    limit = int_param(request, "limit", 50, 1, 500)
    if before := int_param(request, "before", None, 1, MAX_ID):
        runs = runs.filter(pk__lt=before)
    # One row more than the page tells whether an older page exists, without a count.
    rows = list(runs_for_api(runs).order_by("-pk")[: limit + 1])
    page, more = rows[:limit], len(rows) > limit
    return json_response(
        {
            "data": [to_run(run) for run in page],
            "meta": {"limit": limit, "next_before": str(page[-1].pk) if more else None},
        }
    )


def run_retry(request: HttpRequest, user, run_id: str) -> JsonResponse:
    """A new attempt linked to the run (201), optionally with ``{"payload": {...}}``."""
    run = ScheduleRun.objects.filter(pk=path_id(run_id, "Run")).first()
    if run is None:
        raise ApiError(404, "Run not found")
    body = read_json_object(request, allow_empty=True)
    unknown = sorted(set(body) - {"payload"})
    if unknown:
        msg = "Unknown field; the only accepted field is payload."
        raise unprocessable([problem(["body", key], msg, "extra_forbidden") for key in unknown])
    try:
        retry = operations.retry_run(run, payload=body.get("payload"), user=user)
    except operations.RunNotRetryable as exc:
        raise ApiError(409, str(exc)) from None
    except ValidationError as exc:
        raise unprocessable(validation_problems(exc, {})) from None
    return json_response(to_run(runs_for_api(ScheduleRun.objects).get(pk=retry.pk)), status=201)


def run_cancel(request: HttpRequest, user, run_id: str) -> JsonResponse:
    """Cancel a queued, waiting, held or running run (200 with the run; 409 when it has
    ended). A running run answers with status "running" and stage "cancelling" until
    its agent server has been told."""
    from scheduler_admin.engine.cancel import RunNotCancellable, cancel_run

    run = ScheduleRun.objects.filter(pk=path_id(run_id, "Run")).first()
    if run is None:
        raise ApiError(404, "Run not found")
    read_json_object(request, allow_empty=True)
    try:
        run = cancel_run(run, user=user)
    except RunNotCancellable as exc:
        raise ApiError(409, str(exc)) from None
    return json_response(to_run(runs_for_api(ScheduleRun.objects).get(pk=run.pk)))


def approval_list(request: HttpRequest, user) -> JsonResponse:
    """Runs waiting for a person, oldest pause first (run_paused_idx); at most 200."""
    limit = 200
    runs = (
        ScheduleRun.objects.awaiting_answer()
        .select_related("schedule__target")
        .defer("output", "reattachments")[:limit]
    )
    return json_response({"data": [to_approval(run) for run in runs], "meta": {"limit": limit}})


def run_continue(request: HttpRequest, user, run_id: str) -> JsonResponse:
    """Answer a paused run: 200 with the run (followed again), 409 when it no longer
    waits (someone else answered first) or cannot be answered here, 422 when the input
    does not fit the schema the agent server sent."""
    from scheduler_admin.engine import approvals

    runs = ScheduleRun.objects.select_related("schedule__target")
    run = runs.filter(pk=path_id(run_id, "Run")).first()
    if run is None:
        raise ApiError(404, "Run not found")
    body = read_json_object(request)
    problems = []
    decision, note, values = body.get("decision"), body.get("note", ""), body.get("values", {})
    for key in sorted(set(body) - {"decision", "note", "values"}):
        problems.append(problem(["body", key], "Unknown field.", "extra_forbidden"))
    if decision not in (approvals.APPROVE, approvals.REJECT):
        problems.append(problem(["body", "decision"], "Input should be 'approve' or 'reject'."))
    if not isinstance(note, str):
        problems.append(problem(["body", "note"], "Input should be a valid string."))
    if not isinstance(values, dict):
        problems.append(problem(["body", "values"], "Input should be a valid object."))
    if problems:
        raise unprocessable(problems)
    try:
        run = approvals.answer(run, user=user, decision=decision, note=note, values=values)
    except approvals.AnswerError as exc:
        if not exc.errors:
            raise ApiError(409, str(exc)) from None
        raise unprocessable(
            [problem(["body", "values", name], text) for name, text in exc.errors.items()]
        ) from None
    return json_response(to_run(runs_for_api(ScheduleRun.objects).get(pk=run.pk)))
