"""Create and edit schedules (admin), with live cron preview and payload checks."""

import itertools
import zoneinfo
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from agentos_bridge.health import check_target
from scheduler_admin import cron, validators
from scheduler_admin.forms import ScheduleForm
from scheduler_admin.models import Schedule, Target
from scheduler_admin.views.access import require
from scheduler_admin.views.params import parse_id

PREVIEW_FIRES = 5


@require("create")
def schedule_create(request):
    form = ScheduleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        schedule = form.save_through_engine(user=request.user)
        if schedule is not None:
            messages.success(request, f"Created {schedule.name}.")
            return redirect("schedule_detail", pk=schedule.pk)
    return _render_form(request, form, None)


@require("edit")
def schedule_edit(request, pk: int):
    schedule = get_object_or_404(Schedule, pk=pk)
    form = ScheduleForm(request.POST or None, instance=schedule)
    if request.method == "POST" and form.is_valid():
        saved = form.save_through_engine(user=request.user)
        if saved is not None:
            messages.success(request, f"Saved {saved.name}.")
            return redirect("schedule_detail", pk=saved.pk)
    return _render_form(request, form, schedule)


def _render_form(request, form: ScheduleForm, schedule: Schedule | None):
    expr = form["cron_expr"].value() or ""
    context = {
        "form": form,
        "schedule": schedule,
        # A blank new form shows no preview yet rather than an error.
        "preview": (
            cron_preview(expr, validators.canonical_timezone(form["timezone"].value() or ""))
            if expr
            else {}
        ),
        "timezones": sorted(zoneinfo.available_timezones()),
    }
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "schedules/form.html", context, status=status)


def cron_preview(expr: str, tz_name: str) -> dict:
    """What the preview shows: the cron explained and the next fire times in the
    schedule's timezone, each marked when its UTC offset differs from the one before
    (a DST change between them); or the validators' messages."""
    errors = []
    for check, value in ((validators.validate_cron, expr), (validators.validate_timezone, tz_name)):
        try:
            check(value)
        except ValidationError as exc:
            errors.extend(exc.messages)
    if errors:
        return {"errors": errors, "expr": expr}
    tz = ZoneInfo(tz_name)
    now = timezone.now()
    previous = now.astimezone(tz).utcoffset()
    fires = []
    for instant in itertools.islice(cron.fire_times(expr, tz_name, now), PREVIEW_FIRES):
        local = instant.astimezone(tz)
        offset = local.utcoffset()
        fires.append(
            {
                # Formatted here: the template's date filter would convert to UTC.
                "local": local.strftime("%a %Y-%m-%d %H:%M %Z"),
                "offset": local.strftime("%z"),
                "utc": instant,
                "dst_change": offset != previous,
            }
        )
        previous = offset
    return {"explained": cron.explain(expr), "fires": fires, "tz": tz_name, "expr": expr}


def schedule_preview(request):
    """htmx: the live cron preview as the cron or timezone is typed."""
    tz_name = validators.canonical_timezone(request.GET.get("timezone", ""))
    preview = cron_preview(request.GET.get("cron_expr", ""), tz_name)
    return render(request, "schedules/form.html#preview", {"preview": preview})


def schedule_payload_check(request):
    """htmx: is the payload text a JSON object? Say what is wrong if not."""
    try:
        validators.parse_payload(request.GET.get("payload", ""))
        error = ""
    except ValidationError as exc:
        error = " ".join(exc.messages)
    return render(request, "schedules/form.html#payload_check", {"payload_error": error})


ENDPOINTS_CACHE_S = 60


@require("edit")
def schedule_endpoints(request):
    """htmx: the run endpoints the chosen target serves, as suggestions for the
    endpoint field. Asks the target what it serves (as Test connection does) at most
    once a minute per target; any path may still be typed."""
    target = Target.objects.filter(pk=parse_id(request.GET.get("target", ""))).first()
    if target is None:
        target = Target.objects.local()
    key = f"schedule-endpoints-{target.pk}-{target.base_url}"
    found = cache.get(key)
    if found is None:
        found = {"target": target.name, **_served(target)}
        cache.set(key, found, ENDPOINTS_CACHE_S)
    return render(request, "schedules/form.html#endpoints", {"endpoints": found})


def _served(target: Target) -> dict:
    """{"paths": run endpoints the target serves, "error": why they are unknown}."""
    kinds = ("agents", "teams", "workflows")
    if target.is_local:
        from agentos_bridge.runtime import registry

        try:
            found = {kind: registry.ids(kind) for kind in kinds}
        except ImproperlyConfigured as exc:
            return {"paths": [], "error": str(exc)}
    else:
        # The health check lists agents (teams among them on some servers) and workflows.
        found = check_target(target)
    paths = [f"/{kind}/{cid}/runs" for kind in kinds for cid in found.get(kind) or []]
    return {"paths": paths, "error": found.get("error", "")}
