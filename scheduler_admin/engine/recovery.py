"""Nothing lost: close runs whose worker died."""

import logging
from datetime import datetime

from scheduler_admin.engine.outcomes import close_lost_run
from scheduler_admin.models import ScheduleRun

log = logging.getLogger(__name__)


def reap_expired_leases(now: datetime) -> list[int]:
    """Close every running run whose lease ran out as failed ("worker lost")."""
    expired = ScheduleRun.objects.lease_expired(now).select_related("schedule")[:500]
    return [run.pk for run in expired if close_lost_run(run, now)]
