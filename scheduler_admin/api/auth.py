"""Who is calling: a personal API token in ``Authorization: Bearer …``, nothing else.

The session cookie is deliberately ignored, so a browser page can never make the API
write on a logged-in user's behalf (no CSRF exposure for csrf_exempt views).
"""

from django.http import HttpRequest

from scheduler_admin.models import ApiToken


def bearer_token(request: HttpRequest) -> str:
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    return raw.strip() if scheme.lower() == "bearer" else ""


def bearer_user(request: HttpRequest):
    """The user of a valid, unrevoked token, or None."""
    raw = bearer_token(request)
    if not raw or len(raw) > 200:
        return None
    return ApiToken.objects.authenticate(raw)
