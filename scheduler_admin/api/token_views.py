"""/api/tokens/: create and revoke your personal API tokens (login, CSRF: normal pages).

A new token's secret is shown once. Only its hash is stored; the secret waits in the
session just long enough for the page the creating POST redirects to
(POST-redirect-GET: reloading that page creates nothing and shows the secret no more).
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from scheduler_admin.models import ApiToken
from scheduler_admin.roles import can

NAME_MAX = ApiToken._meta.get_field("name").max_length
NEW_TOKEN_KEY = "api_token_created"


@never_cache  # the page after a creation holds a new token's secret: no cache may keep it
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    error = ""
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
            request.session[NEW_TOKEN_KEY] = {"pk": created.pk, "raw": raw}
            return redirect("api_token_list")
    new = request.session.pop(NEW_TOKEN_KEY, None) if request.method == "GET" else None
    tokens = list(ApiToken.objects.filter(user=request.user).order_by("-pk"))
    created = next((t for t in tokens if new and t.pk == new["pk"]), None)
    context = {
        "tokens": tokens,
        "error": error,
        "raw_token": new["raw"] if created else "",
        "created": created,
    }
    status = 403 if error and not can(request.user, "view") else 400 if error else 200
    return render(request, "api/token_list.html", context, status=status)


@require_http_methods(["GET", "POST"])
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    """GET asks to confirm; POST revokes."""
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    if request.method != "POST":
        return render(request, "api/token_revoke_confirm.html", {"token": token})
    token.revoke()
    messages.success(request, f"Revoked {token}. Programs using it now get 401.")
    return redirect("api_token_list")
