"""Cancelling runs: one from its page or row, or several from the runs list after a
confirmation step. A running run is cancelled on its agent server by a follower; the
page shows "cancelling" until then."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from scheduler_admin.engine.cancel import RunNotCancellable, cancel_run, cancel_runs
from scheduler_admin.models import ScheduleRun
from scheduler_admin.views import queries
from scheduler_admin.views.access import require
from scheduler_admin.views.params import parse_ids


@require_POST
@require("cancel")
def run_cancel(request, pk: int):
    run = get_object_or_404(ScheduleRun.objects.select_related("schedule"), pk=pk)
    try:
        run = cancel_run(run, user=request.user)
    except RunNotCancellable as exc:
        messages.error(request, str(exc))
        return redirect("run_detail", pk=pk)
    if run.status == "cancelled":
        messages.success(request, f"Run {pk} cancelled.")
    else:
        messages.success(request, f"Run {pk} is being cancelled on its agent server.")
    return redirect("run_detail", pk=pk)


@require_POST
@require("cancel")
def run_bulk_cancel(request):
    """First POST: list the chosen runs and ask to confirm. Second POST
    (confirmed=yes): cancel them and say how many were cancelled."""
    pks = parse_ids(request.POST.getlist("run"))
    runs = list(queries.run_rows().filter(pk__in=pks).order_by("-pk"))
    back = request.POST.get("back", "")
    target = back if back.startswith("/runs/") and "//" not in back else "/runs/"
    if not runs:
        messages.warning(request, "Select at least one run to cancel.")
        return redirect(target)
    if request.POST.get("confirmed") != "yes":
        return render(request, "runs/bulk_cancel_confirm.html", {"runs": runs, "back": target})
    done, skipped = cancel_runs(runs, user=request.user)
    level = messages.success if done else messages.warning
    level(request, f"Cancelled {len(done)} of {len(runs)} selected runs.")
    for text in skipped:
        messages.warning(request, text)
    return redirect(target)
