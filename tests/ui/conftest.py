import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from scheduler_admin.models import RunStatus, Span, Trace
from tests.factories import make_run, make_schedule, make_user


@pytest.fixture(autouse=True)
def fresh_cache():
    """Pages cache a few slow-changing answers (the dashboard's chart, endpoint
    suggestions): every test starts without them."""
    cache.clear()


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def client_for(role: str | None) -> Client:
    client = Client()
    if role:
        client.force_login(make_user(role))
    return client


@pytest.fixture
def as_viewer(db) -> Client:
    return client_for("viewer")


@pytest.fixture
def as_operator(db) -> Client:
    return client_for("operator")


@pytest.fixture
def as_admin(db) -> Client:
    return client_for("admin")


@pytest.fixture
def failed_run(db):
    schedule = make_schedule(name="nightly report", payload={"message": "go"})
    return make_run(
        schedule,
        status=RunStatus.FAILED,
        error="upstream said 500",
        status_code=500,
        run_id="agno-run-1",
        session_id="sess-1",
        completed_at=timezone.now(),
        duration_ms=1200,
    )


@pytest.fixture
def trace(failed_run):
    now = timezone.now()
    trace = Trace.objects.create(
        trace_id="trace-1",
        name="nightly",
        status="ERROR",
        run_id=failed_run.run_id,
        session_id=failed_run.session_id,
        schedule_run=failed_run,
        start_time=now,
        end_time=now + timezone.timedelta(seconds=2),
        duration_ms=2000,
    )
    Span.objects.create(
        trace=trace,
        span_id="root",
        name="workflow",
        span_type="WORKFLOW",
        status="OK",
        start_time=now,
        end_time=now + timezone.timedelta(seconds=2),
        duration_ms=2000,
    )
    Span.objects.create(
        trace=trace,
        span_id="step1",
        parent_span_id="root",
        name="fetch step",
        span_type="STEP",
        status="ERROR",
        error="boom",
        output="partial",
        start_time=now + timezone.timedelta(seconds=1),
        end_time=now + timezone.timedelta(seconds=2),
        duration_ms=1000,
    )
    return trace
