"""Schedules declared in code (the seed's "startup-registered" schedules).

Declare them in settings.CODE_SCHEDULES, or call ``register()`` from an app's
``ready()``. ``sync_code_schedules()`` upserts them by name at start, idempotently,
and marks them code-managed.
"""

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from scheduler_admin.engine.operations import create_schedule, update_schedule
from scheduler_admin.models import Schedule

log = logging.getLogger(__name__)

_registered: dict[str, dict] = {}


def register(name: str, **fields) -> None:
    """Declare a schedule in code: ``register("daily-digest", cron_expr="0 7 * * *", ...)``."""
    _registered[name] = {"name": name, **fields}


def declared_schedules() -> list[dict]:
    declared = {spec["name"]: spec for spec in getattr(settings, "CODE_SCHEDULES", [])}
    declared.update(_registered)
    return list(declared.values())


def sync_code_schedules() -> dict[str, int]:
    """Create or update every declared schedule; a second call changes nothing."""
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for spec in declared_schedules():
        with transaction.atomic():
            existing = Schedule.objects.filter(name=spec["name"]).first()
            if existing is None:
                try:
                    create_schedule(spec, code_managed=True)
                    counts["created"] += 1
                    continue
                except ValidationError as exc:
                    # Another scheduler starting at the same moment created it first.
                    existing = Schedule.objects.filter(name=spec["name"]).first()
                    if existing is None:
                        raise ValidationError(f"Code schedule {spec['name']!r}: {exc}") from None
            changes = update_schedule(existing, spec)
            if not existing.code_managed:
                Schedule.objects.filter(pk=existing.pk).update(code_managed=True)
            counts["updated" if changes else "unchanged"] += 1
    if any(counts.values()):
        log.info("code-registered schedules: %s", counts)
    return counts
