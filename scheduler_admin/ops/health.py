"""Readiness checks for /readyz: each answers (ok, detail) and never raises.

Details are for an operator reading the JSON: counts, ages and exception *types*, never
an exception's text (a database or Redis error may quote a host, a user or a URL).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from scheduler_admin.engine.config import option
from scheduler_admin.models import Heartbeat, RunStatus, ScheduleRun


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    detail: str
    duration_ms: float = 0.0

    def as_json(self) -> dict:
        return {"ok": self.ok, "detail": self.detail, "ms": round(self.duration_ms, 1)}


def check_database() -> tuple[bool, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return True, connection.vendor


_migrations_applied = False


def check_migrations() -> tuple[bool, str]:
    """Every migration applied. Once true it stays true for this process: building the
    migration graph costs ~50 ms, and nobody un-applies migrations under a running app."""
    global _migrations_applied
    if _migrations_applied:
        return True, "all applied"
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        return False, f"{len(plan)} unapplied: run manage.py migrate"
    _migrations_applied = True
    return True, "all applied"


def check_broker() -> tuple[bool, str]:
    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2
        )
        try:
            client.ping()
        finally:
            client.close()
        return True, "redis"
    # The ORM broker is a table in our database.
    from django_q.models import OrmQ

    return True, f"orm ({OrmQ.objects.count()} messages)"


def heartbeat_check(name: str, max_age_s: float) -> Callable[[], tuple[bool, str]]:
    """A check that some process of kind ``name`` beat within ``max_age_s``."""

    def check() -> tuple[bool, str]:
        beat_at = Heartbeat.objects.filter(name=name).values_list("beat_at", flat=True).first()
        if beat_at is None:
            return False, f"no {name} has ever run"
        age_s = (timezone.now() - beat_at).total_seconds()
        if age_s > max_age_s:
            return False, f"last {name} pass {age_s:.0f} s ago (limit {max_age_s:.0f} s)"
        return True, f"last pass {age_s:.1f} s ago"

    return check


def check_runs_followed() -> tuple[bool, str]:
    """Runs in flight are looked after: no run's status check is a minute overdue (a
    follower is running), no running run is left with a lease that ran out
    long ago (the scheduler reaps those every pass), and no run ready to start has waited
    for a worker longer than READY_QUEUE_MAX_WAIT_S (are the workers up?)."""
    now = timezone.now()
    # Both queries are served by the partial indexes on running and queued runs.
    grace = timedelta(seconds=max(30.0, 2 * option("LEASE_S")))
    unreaped = ScheduleRun.objects.lease_expired(now - grace).count()
    max_wait = timedelta(seconds=settings.OPS["READY_QUEUE_MAX_WAIT_S"])
    stuck = ScheduleRun.objects.filter(
        status=RunStatus.QUEUED, held_for_overlap=False, not_before__lt=now - max_wait
    ).count()
    # Runs in flight on agent servers: a follower takes each one when its check is due
    # (engine/follow.py); checks overdue by a minute mean no follower is running.
    unfollowed = ScheduleRun.objects.due_for_check(now - timedelta(seconds=60)).count()
    problems = []
    if unfollowed:
        problems.append(f"{unfollowed} runs in flight not checked for over 60 s (follow_runs?)")
    if unreaped:
        problems.append(f"{unreaped} running with a lease expired over {grace.seconds} s ago")
    if stuck:
        problems.append(f"{stuck} ready to start for over {max_wait.seconds} s")
    return not problems, "; ".join(problems) or "ok"


def checks() -> list[tuple[str, Callable[[], tuple[bool, str]]]]:
    """The readiness checks, in order: add a process's heartbeat in settings.OPS."""
    return [
        ("database", check_database),
        ("migrations", check_migrations),
        ("broker", check_broker),
        *(
            (name, heartbeat_check(name, max_age_s))
            for name, max_age_s in settings.OPS["READY_HEARTBEATS"].items()
        ),
        ("runs_in_flight", check_runs_followed),
    ]


def run_checks() -> dict[str, CheckResult]:
    """Run every check; one failing (or raising) check never hides the others."""
    results = {}
    for name, check in checks():
        started = time.monotonic()
        try:
            ok, detail = check()
        except Exception as exc:  # noqa: BLE001 - reported as a failed check, by type only
            ok, detail = False, f"error: {type(exc).__name__}"
        results[name] = CheckResult(ok, detail, (time.monotonic() - started) * 1000)
    return results
