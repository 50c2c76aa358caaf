"""Retrying runs: one (from its row or page, optionally with an edited payload)
or several at once after a confirmation step that says up front which of the
chosen runs cannot be retried and why."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from scheduler_admin.engine.operations import (
    RunNotRetryable,
    retry_refusal,
    retry_run,
    retry_runs,
)
from scheduler_admin.forms import RetryPayloadForm
from scheduler_admin.models import ScheduleRun
from scheduler_admin.views import queries
from scheduler_admin.views.access import require
from scheduler_admin.views.params import parse_ids
from scheduler_admin.views.runs import detail_context


@require_POST
@require("retry")
def run_retry(request, pk: int):
    """Retry one run. From a table row (htmx) the answer is the new attempt's row,
    swapped in place; otherwise a redirect to the new attempt's page. A refused
    retry with an edited payload shows the page again with the payload kept."""
    run = get_object_or_404(ScheduleRun.objects.select_related("schedule"), pk=pk)
    payload = None
    form = None
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
        if form is not None:
            form.add_error(None, text)
            return _detail_with_errors(request, run, form, status=409)
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


def _detail_with_errors(request, run: ScheduleRun, form: RetryPayloadForm, status: int = 400):
    run = get_object_or_404(
        ScheduleRun.objects.select_related(
            "schedule__target", "retry_of", "triggered_by", "cancelled_by"
        ),
        pk=run.pk,
    )
    return render(request, "runs/detail.html", detail_context(run, retry_form=form), status=status)


def _back(request) -> str:
    """The page the runs were chosen on, with its filters (as bulk cancel does): only
    a path under /runs/ or /failures/."""
    back = request.POST.get("back", "")
    ok = back.startswith(("/runs/", "/failures/")) and "//" not in back
    return back if ok else "/runs/"


@require_POST
@require("retry")
def run_bulk_retry(request):
    """First POST: list the chosen runs, those that cannot be retried apart with the
    reason, and ask to confirm. Second POST (confirmed=yes): retry the eligible ones
    and say how many were retried. Either way back to the list with its filters."""
    pks = parse_ids(request.POST.getlist("run"))
    runs = list(queries.run_rows().filter(pk__in=pks).order_by("-pk"))
    if not runs:
        messages.warning(request, "Select at least one run to retry.")
        return redirect(_back(request))
    refusals = {run.pk: retry_refusal(run, retried=run.retried) for run in runs}
    eligible = [run for run in runs if not refusals[run.pk]]
    refused = [(run, refusals[run.pk]) for run in runs if refusals[run.pk]]
    if request.POST.get("confirmed") != "yes":
        context = {
            "eligible": eligible,
            "refused": refused,
            "back": _back(request),
        }
        return render(request, "runs/bulk_retry_confirm.html", context)
    created, skipped = retry_runs(eligible, user=request.user)
    total = len(runs)
    if created:
        messages.success(request, f"Retried {len(created)} of {total} selected runs.")
    else:
        messages.error(request, f"Retried none of the {total} selected runs.")
    for run, why in refused:
        messages.warning(request, format_html("Run {}: {}", run.pk, why))
    for text in skipped:  # became ineligible between the two steps
        messages.warning(request, text)
    return redirect(_back(request))
