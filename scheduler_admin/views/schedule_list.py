"""The schedules list (search, filters, history strips) and bulk enable/disable."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from scheduler_admin.engine.operations import set_enabled
from scheduler_admin.models import Schedule, Target
from scheduler_admin.roles import can
from scheduler_admin.views import queries
from scheduler_admin.views.params import clean_text, ignored, parse_ids

PAGE_SIZE = 50


def schedule_list(request):
    params, notes = request.GET.copy(), []
    for name in ("q", "target"):
        if name in params and clean_text(params[name]) is None:
            notes.append(ignored(name, params[name], "contains a NUL character"))
            params[name] = ""
    # Schedules number in the thousands at most: a plain paginator is fine here.
    paginator = Paginator(queries.schedules_for_list(params), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    strips = queries.strip_runs(page.object_list)
    rows = [(s, strips.get(s.pk, [])) for s in page.object_list]
    context = {
        "page": page,
        "rows": rows,
        "ignored": notes,
        "targets": Target.objects.values_list("name", flat=True).order_by("name"),
    }
    template = "schedules/list.html#table" if request.htmx else "schedules/list.html"
    return render(request, template, context)


@require_POST
def schedule_bulk(request):
    """Enable or disable the chosen schedules: confirm first, then report how many
    changed (schedules already in that state are left alone)."""
    action = request.POST.get("action")
    if action not in ("enable", "disable"):
        messages.error(request, "Choose enable or disable.")
        return redirect("schedule_list")
    if not can(request.user, action):
        raise PermissionDenied(f"Your role does not allow: {action}.")
    pks = parse_ids(request.POST.getlist("schedule"))
    schedules = list(Schedule.objects.filter(pk__in=pks).select_related("target"))
    if not schedules:
        messages.warning(request, "Select at least one schedule.")
        return redirect("schedule_list")
    if request.POST.get("confirmed") != "yes":
        return render(
            request, "schedules/bulk_confirm.html", {"schedules": schedules, "action": action}
        )
    wanted = action == "enable"
    changed = [s for s in schedules if s.enabled != wanted]
    for schedule in changed:
        set_enabled(schedule, wanted, user=request.user)
    verb = "Enabled" if wanted else "Disabled"
    unchanged = len(schedules) - len(changed)
    note = f" ({unchanged} already {action}d)" if unchanged else ""
    messages.success(request, f"{verb} {len(changed)} schedule(s){note}.")
    return redirect("schedule_list")
