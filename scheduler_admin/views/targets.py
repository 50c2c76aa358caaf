"""Agent servers (targets): list for everyone, create/edit and test for admins.

A target names the environment variable that holds its token; the token itself is
never stored, shown or sent to the browser.
"""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from agentos_bridge.health import check_target
from scheduler_admin.forms import TargetForm
from scheduler_admin.models import Target
from scheduler_admin.views.access import require


def target_list(request):
    return render(request, "targets/list.html", {"targets": Target.objects.order_by("name")})


@require("manage_targets")
def target_create(request):
    return _edit(request, Target())


@require("manage_targets")
def target_edit(request, pk: int):
    return _edit(request, get_object_or_404(Target, pk=pk))


def _edit(request, target: Target):
    form = TargetForm(request.POST or None, instance=target)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        messages.success(request, f"Saved target {saved.name}.")
        return redirect("target_list")
    status = 400 if form.is_bound else 200
    return render(request, "targets/form.html", {"form": form, "target": target}, status=status)


@require_POST
@require("manage_targets")
def target_test(request, pk: int):
    """Call the bridge's health check for this target and show what it said."""
    target = get_object_or_404(Target, pk=pk)
    result = _describe(check_target(target))
    if request.htmx:
        return render(request, "targets/list.html#test_result", {"result": result, "t": target})
    (messages.success if result["ok"] else messages.error)(
        request, f"{target.name}: {result['message']}"
    )
    return redirect("target_list")


def _describe(answer: dict) -> dict:
    """check_target's answer as {ok, message}: what the server serves, or why not."""
    if not answer.get("ok"):
        return {"ok": False, "message": answer.get("error") or "unreachable"}
    parts = ["reachable"]
    for kind in ("agents", "workflows"):
        ids = answer.get(kind) or []
        parts.append(f"{len(ids)} {kind}" + (f" ({', '.join(ids[:5])})" if ids else ""))
    if answer.get("warning"):
        parts.append(answer["warning"])
    return {"ok": True, "message": "; ".join(parts)}
