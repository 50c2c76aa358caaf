"""Who may do what: login everywhere, roles checked on the server, CSRF enforced."""

import pytest
from django.test import Client
from django.urls import reverse

from scheduler_admin.models import AuditEntry, Schedule, Target
from tests.factories import make_schedule, make_user
from tests.ui.conftest import client_for

ALLOWED = {
    "viewer": set(),
    "operator": {"trigger", "retry", "bulk_retry", "enable", "disable", "pause"},
    "admin": {
        "trigger",
        "retry",
        "bulk_retry",
        "enable",
        "disable",
        "pause",
        "create",
        "edit",
        "delete",
        "target_edit",
    },
}


def _request(action: str, schedule: Schedule, run, target: Target):
    """The POST that performs ``action``: (url, data)."""
    valid = {
        "name": schedule.name,
        "target": target.pk,
        "endpoint": "/noop",
        "method": "POST",
        "payload": "{}",
        "cron_expr": "0 3 * * *",
        "timezone": "UTC",
        "timeout_s": 60,
        "max_retries": 0,
        "retry_delay_s": 60,
        "retry_backoff": 2,
        "enabled": "on",
        "overlap_policy": "skip",
        "catch_up_policy": "latest",
    }
    return {
        "trigger": (reverse("schedule_trigger", args=[schedule.pk]), {}),
        "retry": (reverse("run_retry", args=[run.pk]), {}),
        "bulk_retry": (reverse("run_bulk_retry"), {"run": [run.pk], "confirmed": "yes"}),
        "enable": (reverse("schedule_enable", args=[schedule.pk]), {}),
        "disable": (reverse("schedule_disable", args=[schedule.pk]), {}),
        "pause": (reverse("schedule_pause", args=[schedule.pk]), {"reason": "maintenance"}),
        "create": (reverse("schedule_create"), {**valid, "name": "brand new"}),
        "edit": (reverse("schedule_edit", args=[schedule.pk]), valid),
        "delete": (reverse("schedule_delete", args=[schedule.pk]), {}),
        "target_edit": (
            reverse("target_edit", args=[target.pk]),
            {"name": target.name, "base_url": "", "token_env": "", "connect_timeout_s": 5},
        ),
    }[action]


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
@pytest.mark.parametrize("action", sorted(ALLOWED["admin"]))
def test_role_matrix_is_enforced_on_the_server(db, role, action, failed_run):
    schedule, target = failed_run.schedule, Target.objects.local()
    if action == "enable":  # enabling an enabled schedule changes (and audits) nothing
        Schedule.objects.filter(pk=schedule.pk).update(enabled=False)
    url, data = _request(action, schedule, failed_run, target)
    audited = AuditEntry.objects.count()
    response = client_for(role).post(url, data)
    if action in ALLOWED[role]:
        assert response.status_code in (200, 302), response.content[:500]
        # ...and it really happened (not a form shown again with errors).
        if action == "target_edit":
            assert Target.objects.get(pk=target.pk).updated_at > target.updated_at
        else:
            assert AuditEntry.objects.count() > audited
    else:
        assert response.status_code == 403
        assert AuditEntry.objects.count() == audited


def test_viewer_cannot_retry_and_nothing_is_created(db, failed_run):
    response = client_for("viewer").post(reverse("run_retry", args=[failed_run.pk]))
    assert response.status_code == 403
    assert not failed_run.retries.exists()


def test_viewer_sees_no_controls(as_viewer, failed_run):
    page = as_viewer.get(reverse("run_list")).content.decode()
    assert "Retry" not in page
    detail = as_viewer.get(reverse("schedule_detail", args=[failed_run.schedule_id])).content
    assert b"Trigger now" not in detail and b"Delete" not in detail


@pytest.mark.parametrize(
    "name", ["dashboard", "schedule_list", "run_list", "target_list", "audit_list"]
)
def test_anonymous_is_sent_to_login(db, name):
    response = Client().get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_post_without_csrf_token_is_refused(db):
    schedule = make_schedule()
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("admin"))
    response = client.post(reverse("schedule_disable", args=[schedule.pk]))
    assert response.status_code == 403
    schedule.refresh_from_db()
    assert schedule.enabled


def test_post_with_csrf_header_from_body_is_accepted(db):
    """The htmx way: the token from <body hx-headers> sent as X-CSRFToken."""
    schedule = make_schedule()
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("admin"))
    page = client.get(reverse("schedule_detail", args=[schedule.pk])).content.decode()
    token = page.split('"X-CSRFToken": "')[1].split('"')[0]
    response = client.post(reverse("schedule_disable", args=[schedule.pk]), HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 302
    schedule.refresh_from_db()
    assert not schedule.enabled


def test_every_reading_page_renders_for_a_viewer(as_viewer, trace, failed_run):
    schedule = failed_run.schedule
    for url in [
        reverse("dashboard"),
        reverse("schedule_list"),
        reverse("schedule_detail", args=[schedule.pk]),
        reverse("run_list"),
        reverse("run_detail", args=[failed_run.pk]),
        reverse("trace_detail", args=[trace.trace_id]),
        reverse("session_detail", args=[failed_run.session_id]),
        reverse("target_list"),
        reverse("audit_list"),
    ]:
        response = as_viewer.get(url)
        assert response.status_code == 200, url
        assert b"<main" in response.content


@pytest.mark.parametrize("name", ["schedule_create", "target_create"])
def test_viewer_cannot_open_admin_forms(as_viewer, name):
    assert as_viewer.get(reverse(name)).status_code == 403


ROLE_MIDDLEWARE = "scheduler_admin.views.access.RoleRequiredMiddleware"


@pytest.fixture
def role_required(settings):
    """The real settings list the middleware, after authentication."""
    middleware = list(settings.MIDDLEWARE)
    assert ROLE_MIDDLEWARE in middleware
    auth = middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware")
    assert middleware.index(ROLE_MIDDLEWARE) > auth


def _reading_pages(trace, run) -> list[str]:
    return [
        reverse("dashboard"),
        reverse("schedule_list"),
        reverse("schedule_detail", args=[run.schedule_id]),
        reverse("run_list"),
        reverse("run_detail", args=[run.pk]),
        reverse("run_by_run_id", args=[run.run_id]),
        reverse("trace_detail", args=[trace.trace_id]),
        reverse("session_detail", args=[run.session_id]),
        reverse("target_list"),
        reverse("audit_list"),
    ]


def test_signed_in_user_without_a_role_sees_no_page(role_required, trace, failed_run):
    client = client_for(None)
    client.force_login(make_user(None))
    for url in _reading_pages(trace, failed_run):
        assert client.get(url).status_code == 403, url


def test_viewer_still_reads_every_page_with_the_role_check_on(
    role_required, as_viewer, trace, failed_run
):
    for url in _reading_pages(trace, failed_run):
        assert as_viewer.get(url).status_code in (200, 302), url


def test_user_without_a_role_may_still_sign_out(role_required, db):
    client = client_for(None)
    client.force_login(make_user(None))
    assert client.post(reverse("logout")).status_code in (200, 302)
