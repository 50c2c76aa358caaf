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


class RoleRequiredMiddleware:
    """Every console page needs at least the viewer role, not merely a login.

    LoginRequiredMiddleware turns away strangers; this turns away signed-in people
    whom nobody gave a role. It goes after AuthenticationMiddleware in MIDDLEWARE.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and getattr(view_func, "__module__", "").startswith("scheduler_admin.views")
            and not can(user, "view")
        ):
            raise PermissionDenied("Your account has no role here: ask an admin for one.")
        return None
