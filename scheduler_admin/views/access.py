"""Role checks for views: every state-changing view is guarded on the server."""

from functools import wraps

from django.core.exceptions import PermissionDenied

from scheduler_admin.roles import can


def require(action: str):
    """Answer 403 unless the user's role allows ``action`` (see roles.ACTIONS).

    Hiding a button is only a courtesy; this is the check that counts.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not can(request.user, action):
                raise PermissionDenied(f"Your role does not allow: {action}.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
