"""/api/tokens/: create and revoke your personal API tokens (login, CSRF: normal pages).

A new token's secret is shown once, in the answer to the POST that made it; only its
hash is stored, so it cannot be shown again.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from scheduler_admin.models import ApiToken

NAME_MAX = ApiToken._meta.get_field("name").max_length


@never_cache  # the answer to a POST holds a new token's secret: no cache may keep it
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    error, raw, created = "", "", None
    if request.method == "POST":
        name = request.POST.get("name", "").strip()
        if not name:
            error = "Give the token a name, such as the script or machine that will use it."
        elif len(name) > NAME_MAX:
            error = f"Use at most {NAME_MAX} characters; this name has {len(name)}."
        else:
            created, raw = ApiToken.issue(request.user, name)
    tokens = ApiToken.objects.filter(user=request.user).order_by("-pk")
    context = {"tokens": tokens, "error": error, "raw_token": raw, "created": created}
    return render(request, "api/token_list.html", context, status=400 if error else 200)


@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    token.revoke()
    messages.success(request, f"Revoked {token}. Programs using it now get 401.")
    return redirect("api_token_list")
