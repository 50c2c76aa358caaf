"""Retrying runs: one (from its row or page, optionally with an edited payload)
or several at once after a confirmation step."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from scheduler_admin.engine.operations import RunNotRetryable, retry_run, retry_runs
from scheduler_admin.forms import RetryPayloadForm
from scheduler_admin.models import ScheduleRun, Trace
from scheduler_admin.views import queries
from scheduler_admin.views.access import require
from scheduler_admin.views.params import parse_ids


@require_POST
@require("retry")
def run_retry(request, pk: int):
    """Retry one run. From a table row (htmx) the answer is the new attempt's row,
    swapped in place; otherwise a redirect to the new attempt's page."""
    run = get_object_or_404(ScheduleRun.objects.select_related("schedule"), pk=pk)
    payload = None
    if "payload" in request.POST:
        form = RetryPayloadForm(request.POST)
        if not form.is_valid():
            return _detail_with_errors(request, run, form)
        payload = form.cleaned_data["payload"]
    try:
        retry = retry_run(run, payload=payload, user=request.user)
    except (RunNotRetryable, ValidationError) as exc:
        text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        if request.htmx:
            row = queries.run_rows().get(pk=run.pk)
            return _row(request, row, text)
        messages.error(request, text)
        return redirect("run_detail", pk=run.pk)
    if request.htmx:
        row = queries.run_rows().get(pk=retry.pk)
        return _row(request, row, f"Retry of run {run.pk} queued.")
    messages.success(request, f"Run {run.pk} retried as run {retry.pk} (attempt {retry.attempt}).")
    return redirect("run_detail", pk=retry.pk)


def _row(request, run: ScheduleRun, note: str):
    """One table row; with the pick column when it replaces a row of the runs list."""
    context = {"run": run, "row_note": note, "show_pick": request.POST.get("pick") == "1"}
    return render(request, "runs/list.html#row", context)


def _detail_with_errors(request, run: ScheduleRun, form: RetryPayloadForm):
    context = {
        "run": run,
        "attempts": list(queries.attempts_of(run)),
        "traces": list(Trace.objects.filter(schedule_run=run).only("trace_id", "name", "status")),
        "retry_form": form,
        "open_retry": True,
    }
    return render(request, "runs/detail.html", context, status=400)


@require_POST
@require("retry")
def run_bulk_retry(request):
    """First POST: list the chosen runs and ask to confirm. Second POST
    (confirmed=yes): retry them and say how many were retried."""
    pks = parse_ids(request.POST.getlist("run"))
    runs = list(queries.run_rows().filter(pk__in=pks).order_by("-pk"))
    if not runs:
        messages.warning(request, "Select at least one run to retry.")
        return redirect("run_list")
    if request.POST.get("confirmed") != "yes":
        return render(request, "runs/bulk_retry_confirm.html", {"runs": runs})
    created, skipped = retry_runs(runs, user=request.user)
    messages.success(request, f"Retried {len(created)} of {len(runs)} selected runs.")
    for text in skipped:
        messages.warning(request, text)
    return redirect("run_list")
