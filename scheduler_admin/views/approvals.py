"""The approvals inbox: runs paused for a person, oldest first, answered from here or
from the run's page. Operators and admins answer; viewers see."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from scheduler_admin.engine import approvals
from scheduler_admin.models import ScheduleRun
from scheduler_admin.views.access import require

INBOX_LIMIT = 200
FIELD_PREFIX = "field-"


def approval_list(request):
    """Every paused run, oldest pause first (run_paused_idx), with what it asks."""
    runs = list(
        ScheduleRun.objects.awaiting_answer()
        .select_related("schedule__target")
        .defer("output", "reattachments")[:INBOX_LIMIT]
    )
    return render(request, "approvals/list.html", {"runs": runs, "limit": INBOX_LIMIT})


@require_POST
@require("answer")
def approval_answer(request, pk: int):
    """Approve or reject (named buttons), with a note and the requested input."""
    run = get_object_or_404(ScheduleRun.objects.select_related("schedule__target"), pk=pk)
    values = {
        key.removeprefix(FIELD_PREFIX): value
        for key, value in request.POST.items()
        if key.startswith(FIELD_PREFIX)
    }
    back = "run_detail" if request.POST.get("back") == "run" else "approval_list"
    try:
        approvals.answer(
            run,
            user=request.user,
            decision=request.POST.get("decision", ""),
            note=request.POST.get("note", ""),
            values=values,
        )
    except approvals.AlreadyAnswered as exc:
        messages.warning(request, f"Run {pk}: {exc}")
    except approvals.AnswerError as exc:
        messages.error(request, f"Run {pk}: {exc}")
        for name, text in exc.errors.items():
            messages.error(request, f"{name}: {text}")
    else:
        decision = request.POST.get("decision")
        messages.success(request, f"Run {pk} {decision}d; it goes on on its agent server.")
    return redirect(back, pk=pk) if back == "run_detail" else redirect(back)
