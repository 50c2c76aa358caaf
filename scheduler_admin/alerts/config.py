"""Alerting settings (settings.ALERTS), read at call time so tests can override them."""

from django.conf import settings


def option(name: str):
    return settings.ALERTS[name]
