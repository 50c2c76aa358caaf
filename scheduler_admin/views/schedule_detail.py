"""One schedule: settings, run history, change history, and the operator's
controls (enable, disable, pause with a reason, trigger now, delete)."""

from cronsim import CronSimError
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from scheduler_admin import cron
from scheduler_admin.engine import operations
from scheduler_admin.engine.cancel import waiting_count
from scheduler_admin.models import Schedule
from scheduler_admin.views import live, queries
from scheduler_admin.views.access import require
from scheduler_admin.views.paging import keyset_page

HISTORY_SIZE = 25


def schedule_detail(request, pk: int):
    """The schedule's page. Its newest history polls every 2 s (see views.live): one
    query and a 204 while none of its newest runs changed."""
    newest = not (request.GET.get("before") or request.GET.get("after"))
    polled = request.htmx and request.htmx.target == "schedule-runs"
    state = live.stamp(queries.schedule_history_state(pk, HISTORY_SIZE)) if newest else ""
    if polled and newest and (nothing_new := live.unchanged(request, state)):
        return nothing_new
    schedule = get_object_or_404(
        Schedule.objects.select_related("target", "created_by", "updated_by"), pk=pk
    )
    runs = queries.firings(queries.run_rows().filter(schedule=schedule))
    page = keyset_page(runs, request.GET, HISTORY_SIZE)
    history = {"page": page, "newest": newest, "stamp": state, "schedule": schedule}
    if polled:
        return render(request, "schedules/detail.html#history", history)
    try:
        explained = cron.explain(schedule.cron_expr)
    except CronSimError:  # a schedule saved before a validator change
        explained = ""
    context = {
        **history,
        "explained": explained,
        "strip": queries.schedule_strip(schedule.pk),
        "audit": queries.audit_rows().filter(schedule=schedule)[:50],
    }
    return render(request, "schedules/detail.html", context)


def _schedule(pk: int) -> Schedule:
    return get_object_or_404(Schedule.objects.select_related("target"), pk=pk)


@require_POST
@require("enable")
def schedule_enable(request, pk: int):
    schedule = _schedule(pk)
    operations.set_enabled(schedule, True, user=request.user)
    messages.success(request, f"Enabled {schedule.name}.")
    return redirect("schedule_detail", pk=pk)


@require_POST
@require("disable")
def schedule_disable(request, pk: int):
    schedule = _schedule(pk)
    cancelled = waiting_count(schedule)
    operations.set_enabled(schedule, False, user=request.user)
    messages.success(request, f"Disabled {schedule.name}.{_cancelled_note(cancelled)}")
    return redirect("schedule_detail", pk=pk)


@require_POST
@require("disable")
def schedule_pause(request, pk: int):
    schedule = _schedule(pk)
    reason = request.POST.get("reason", "").strip()
    if not reason:
        messages.error(request, "Say why you pause it: the reason is shown to everyone.")
        return redirect("schedule_detail", pk=pk)
    try:
        cancelled = waiting_count(schedule)
        operations.set_enabled(schedule, False, user=request.user, reason=reason)
    except ValidationError as exc:
        messages.error(request, "Not paused. Reason: " + " ".join(exc.messages))
        return redirect("schedule_detail", pk=pk)
    messages.success(request, f"Paused {schedule.name}: {reason}{_cancelled_note(cancelled)}")
    return redirect("schedule_detail", pk=pk)


@require_POST
@require("trigger")
def schedule_trigger(request, pk: int):
    schedule = _schedule(pk)
    try:
        run = operations.trigger_now(schedule, user=request.user)
    except operations.ScheduleDisabled as exc:
        messages.error(request, str(exc))
        return redirect("schedule_detail", pk=pk)
    link = reverse("run_detail", args=[run.pk])
    messages.success(
        request,
        format_html('Triggered {}: <a href="{}">run {} queued</a>.', schedule.name, link, run.pk),
    )
    return redirect("schedule_detail", pk=pk)


@require("delete")
def schedule_delete(request, pk: int):
    """GET asks to confirm; POST deletes (with the schedule's runs)."""
    schedule = _schedule(pk)
    if request.method != "POST":
        context = {
            "schedule": schedule,
            "in_flight": schedule.runs.filter(status="running").count(),
        }
        return render(request, "schedules/delete_confirm.html", context)
    name = schedule.name
    operations.delete_schedule(schedule, user=request.user)
    messages.success(request, f"Deleted {name}.")
    return redirect("schedule_list")


def _cancelled_note(count: int) -> str:
    return f" {count} waiting run{'s' if count != 1 else ''} cancelled." if count else ""
