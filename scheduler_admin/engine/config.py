"""The engine's settings, read at call time so tests can override them."""

from django.conf import settings


def option(name: str):
    return settings.SCHEDULER[name]
