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
from scheduler_admin.roles import can

NAME_MAX = ApiToken._meta.get_field("name").max_length


@never_cache  # the answer to a POST holds a new token's secret: no cache may keep it
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    error, raw, created = "", "", None
    if request.method == "POST":
        name = request.POST.get("name", "").strip()
        if not can(request.user, "view"):
            error = "Your account has no role here, so a token could do nothing: ask an admin."
        elif not name:
            error = "Give the token a name, such as the script or machine that will use it."
        elif "\x00" in name:
            error = "The name must not contain NUL (\\u0000) characters."
        elif len(name) > NAME_MAX:
            error = f"Use at most {NAME_MAX} characters; this name has {len(name)}."
        else:
            created, raw = ApiToken.issue(request.user, name)
    tokens = ApiToken.objects.filter(user=request.user).order_by("-pk")
    context = {"tokens": tokens, "error": error, "raw_token": raw, "created": created}
    status = 403 if error and not can(request.user, "view") else 400 if error else 200
    return render(request, "api/token_list.html", context, status=status)


@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    token.revoke()
    messages.success(request, f"Revoked {token}. Programs using it now get 401.")
    return redirect("api_token_list")
