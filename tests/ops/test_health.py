"""/healthz and /readyz: no login, JSON with each check, 503 when one fails, no secrets."""

from datetime import timedelta

import pytest
from django.db import DatabaseError
from django.test import Client
from django.utils import timezone

from scheduler_admin.models import Heartbeat, RunStatus
from scheduler_admin.ops import health
from tests.factories import make_run, make_schedule, make_user


@pytest.fixture
def fresh_scheduler(db):
    Heartbeat.objects.create(name="scheduler", beat_at=timezone.now())


def readyz(client: Client | None = None):
    response = (client or Client()).get("/readyz")
    return response.status_code, response.json()


def test_healthz_answers_without_login_or_database(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_readyz_is_ok_with_every_check_listed(fresh_scheduler):
    status, body = readyz()
    assert status == 200
    assert body["status"] == "ok"
    assert set(body["checks"]) == {
        "database",
        "migrations",
        "broker",
        "scheduler",
        "runs_in_flight",
    }
    assert all(check["ok"] for check in body["checks"].values())


def test_readyz_needs_no_login_even_for_a_user_without_a_role(fresh_scheduler):
    client = Client()
    client.force_login(make_user(None))
    assert readyz(client)[0] == 200


def test_readyz_unready_when_no_scheduler_ever_ran(db):
    status, body = readyz()
    assert status == 503
    assert body["status"] == "unready"
    assert body["checks"]["scheduler"] == {
        "ok": False,
        "detail": "no scheduler has ever run",
        "ms": body["checks"]["scheduler"]["ms"],
    }
    assert body["checks"]["database"]["ok"]


def test_readyz_unready_when_the_scheduler_beat_too_long_ago(db, settings):
    settings.OPS = {**settings.OPS, "READY_HEARTBEATS": {"scheduler": 10.0}}
    Heartbeat.objects.create(name="scheduler", beat_at=timezone.now() - timedelta(seconds=11))
    status, body = readyz()
    assert status == 503
    assert "limit 10 s" in body["checks"]["scheduler"]["detail"]


def test_readyz_unready_when_a_lease_expired_and_nobody_reaped_it(fresh_scheduler):
    make_run(
        make_schedule(),
        status=RunStatus.RUNNING,
        lease_expires_at=timezone.now() - timedelta(minutes=5),
    )
    status, body = readyz()
    assert status == 503
    assert "lease expired" in body["checks"]["runs_in_flight"]["detail"]


def test_readyz_unready_when_no_worker_takes_ready_runs(fresh_scheduler, settings):
    settings.OPS = {**settings.OPS, "READY_QUEUE_MAX_WAIT_S": 60}
    make_run(make_schedule(), not_before=timezone.now() - timedelta(seconds=61))
    status, body = readyz()
    assert status == 503
    assert "ready to start" in body["checks"]["runs_in_flight"]["detail"]


def test_a_recent_queued_run_or_a_future_retry_is_fine(fresh_scheduler):
    schedule = make_schedule()
    make_run(schedule, not_before=timezone.now() - timedelta(seconds=5))
    make_run(schedule, attempt=2, not_before=timezone.now() + timedelta(hours=1), trigger="retry")
    assert readyz()[0] == 200


def test_readyz_unready_with_unapplied_migrations(fresh_scheduler, monkeypatch):
    monkeypatch.setattr(health, "_migrations_applied", False)
    monkeypatch.setattr(
        health.MigrationExecutor, "migration_plan", lambda self, targets: [("m", False)]
    )
    status, body = readyz()
    assert status == 503
    assert body["checks"]["migrations"]["detail"] == "1 unapplied: run manage.py migrate"


def test_readyz_unready_when_redis_is_unreachable(fresh_scheduler, settings):
    # A closed port, with a password in the URL that must not come back.
    settings.REDIS_URL = "redis://:hunter2-secret@127.0.0.1:1/0"
    status, body = readyz()
    assert status == 503
    assert body["checks"]["broker"]["detail"] == "error: ConnectionError"
    assert "hunter2" not in str(body)


def test_a_raising_check_reports_its_type_only_and_the_others_still_run(
    fresh_scheduler, monkeypatch
):
    def broken():
        raise DatabaseError("FATAL: password authentication failed for user s3cret-user")

    monkeypatch.setattr(health, "check_database", broken)
    status, body = readyz()
    assert status == 503
    assert body["checks"]["database"]["detail"] == "error: DatabaseError"
    assert "s3cret" not in str(body)
    assert body["checks"]["migrations"]["ok"]


def test_health_endpoints_are_exempt_from_the_https_redirect(fresh_scheduler, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert Client().get("/healthz").status_code == 200
    assert readyz()[0] == 200
    assert Client().get("/").status_code == 301
