"""Roles: viewer (read), operator (+ trigger, retry, cancel, enable/disable), admin (+ create,
edit, delete schedules and targets). Groups of these names are created by a migration;
a superuser is an admin."""

from enum import IntEnum


class Role(IntEnum):
    NONE = 0
    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3


# The least role each action needs.
ACTIONS = {
    "view": Role.VIEWER,
    "trigger": Role.OPERATOR,
    "retry": Role.OPERATOR,
    "cancel": Role.OPERATOR,
    "answer": Role.OPERATOR,
    "enable": Role.OPERATOR,
    "disable": Role.OPERATOR,
    "create": Role.ADMIN,
    "edit": Role.ADMIN,
    "delete": Role.ADMIN,
    "manage_targets": Role.ADMIN,
    "acknowledge": Role.OPERATOR,
    "manage_alerts": Role.ADMIN,
}


def role_of(user) -> Role:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Role.NONE
    if user.is_superuser:
        return Role.ADMIN
    cached = getattr(user, "_scheduler_role", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = max(
            (Role[n.upper()] for n in names if n.upper() in Role.__members__), default=Role.NONE
        )
        user._scheduler_role = cached
    return cached


def can(user, action: str) -> bool:
    return role_of(user) >= ACTIONS[action]
