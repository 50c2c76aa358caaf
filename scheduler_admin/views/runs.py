"""Run history (keyset paged, live while runs are in flight) and run detail."""

import json
from datetime import datetime

from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.timezone import make_aware
from django_htmx.http import HttpResponseStopPolling

from scheduler_admin.engine.operations import retry_refusal
from scheduler_admin.forms import RetryPayloadForm
from scheduler_admin.models import RunStatus, ScheduleRun, Target, Trace, Trigger
from scheduler_admin.views import live, queries
from scheduler_admin.views.paging import keyset_page
from scheduler_admin.views.params import clean_text, ignored, parse_id

PAGE_SIZE = 50


def _moment(text: str) -> datetime | None:
    """A datetime-local or date value from a filter box, read as UTC; None if it is
    not one (parse_* raise ValueError for well-formed but impossible dates)."""
    try:
        value = parse_datetime(text)
        if value is None and (day := parse_date(text)):
            value = datetime(day.year, day.month, day.day)
    except ValueError:
        return None
    if value is not None and value.tzinfo is None:
        value = make_aware(value)
    return value


def _filters(request) -> tuple[dict, list[str]]:
    """The filter values as typed (to refill the form) plus their parsed forms for
    queries.runs_for_list, and a note for each value that had to be ignored."""
    params = {key: request.GET.get(key, "") for key in request.GET}
    notes = []
    if (status := params.get("status")) and status not in RunStatus.values:
        notes.append(ignored("status", status, "not a run status"))
    if (trigger := params.get("trigger")) and trigger not in Trigger.values:
        notes.append(ignored("trigger", trigger, "not a trigger"))
        params["trigger"] = ""
    if schedule := clean_text(params.get("schedule")):
        # A number is a schedule's id; anything else its name (what people remember).
        params["schedule_id"] = parse_id(schedule)
        if params["schedule_id"] is None and schedule.isascii() and schedule.isdigit():
            notes.append(ignored("schedule", schedule, "not a schedule number"))
        elif params["schedule_id"] is None:
            params["schedule_name"] = schedule
    elif schedule is None:
        notes.append(ignored("schedule", params["schedule"], "contains a NUL character"))
        params["schedule"] = ""
    for name in ("since", "until"):
        text = params.get(name, "")
        params[f"{name}_dt"] = _moment(text) if text else None
        if text and params[f"{name}_dt"] is None:
            notes.append(ignored(name, text, "not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM)"))
    for name in ("target", "q"):
        if (text := clean_text(params.get(name))) is None:
            notes.append(ignored(name, params[name], "contains a NUL character"))
            text = ""
        params[name] = text
    return params, notes


def run_list(request):
    """One row per firing (its latest attempt) unless ?attempts=all. The newest page
    polls (new firings appear); an older page polls while a row on it is in flight."""
    params, notes = _filters(request)
    size = parse_id(size_text := request.GET.get("size", ""))
    if size_text and not size:
        notes.append(ignored("size", size_text, "not a page size"))
    size = min(size or PAGE_SIZE, 200)
    rows = queries.runs_for_list(params)
    if params.get("attempts") != "all":
        rows = queries.firings(rows)
    page = keyset_page(rows, request.GET, size)
    newest = not (request.GET.get("before") or request.GET.get("after"))
    in_flight = any(run.status in (RunStatus.QUEUED, RunStatus.RUNNING) for run in page.rows)
    rows_stamp = live.stamp(
        (r.pk, r.status, r.stage, r.run_id, r.session_id, r.duration_ms, r.retried)
        for r in page.rows
    )
    context = {
        "page": page,
        "ignored": notes + page.ignored,
        "live": newest or in_flight,
        "stamp": rows_stamp,
        "params": params,
        "statuses": RunStatus.values,
        "triggers": Trigger.values,
        "targets": Target.objects.values_list("name", flat=True).order_by("name"),
    }
    if request.htmx and request.htmx.target == "run-rows":
        if nothing_new := live.unchanged(request, rows_stamp):
            return nothing_new
        response = render(request, "runs/list.html#rows", context)
        if not context["live"]:
            # The rows are final: render them once more and tell htmx to stop polling.
            return HttpResponseStopPolling(response.content)
        return response
    return render(request, "runs/list.html", context)


def run_detail(request, pk: int):
    """The run's page, failure first. It polls itself every 2 s (see views.live): the
    answer is 204 until something about the firing's attempts changes."""
    state = live.stamp(queries.firing_state(pk))
    polled = request.htmx and request.htmx.target == "run-live"
    if polled and (nothing_new := live.unchanged(request, state)):
        return nothing_new
    run = get_object_or_404(
        ScheduleRun.objects.select_related(
            "schedule__target", "retry_of", "triggered_by", "cancelled_by"
        ),
        pk=pk,
    )
    context = detail_context(run)
    context["stamp"] = state
    return render(request, "runs/detail.html#live" if polled else "runs/detail.html", context)


def detail_context(run: ScheduleRun, retry_form: RetryPayloadForm | None = None) -> dict:
    """What the run page shows; ``retry_form`` carries a refused or invalid edit."""
    attempts = list(queries.attempts_of(run))
    latest = attempts[-1] if attempts else run
    # A run is retried at most once, so the attempts form a chain: a run other than
    # the latest attempt was retried.
    retried = latest.pk != run.pk
    return {
        "run": run,
        "attempts": attempts,
        "latest": latest,
        "retried": retried,
        "refusal": retry_refusal(run, retried=retried),
        "traces": list(Trace.objects.filter(schedule_run=run).only("trace_id", "name", "status")),
        "artifacts": list(run.artifacts.all()),
        "retry_form": retry_form or RetryPayloadForm(initial={"payload": _pretty(run.input)}),
        "open_retry": retry_form is not None,
    }


def run_attempts(request, pk: int):
    """The attempts of a run's firing, folded out under its row in a list."""
    run = get_object_or_404(ScheduleRun.objects.only("pk", "schedule_id", "scheduled_for"), pk=pk)
    return render(
        request, "runs/detail.html#attempt_list", {"run": run, "attempts": queries.attempts_of(run)}
    )


def _pretty(value) -> str:
    return json.dumps(value if value is not None else {}, indent=2, ensure_ascii=False)


def run_by_run_id(request, run_id: str):
    """Follow an agent run id to its trace: the agent server's trace whose run_id
    matches, else the scheduler-side trace of the run that carries this id."""
    trace = Trace.objects.filter(run_id=run_id).order_by("pk").only("trace_id").first()
    run = ScheduleRun.objects.filter(run_id=run_id).only("pk", "run_id").order_by("-pk").first()
    if trace is None and run is not None:
        trace = Trace.objects.filter(schedule_run=run).order_by("pk").only("trace_id").first()
    if trace is not None:
        return redirect("trace_detail", trace_id=trace.trace_id)
    return render(request, "runs/no_trace.html", {"run_id": run_id, "run": run}, status=404)
