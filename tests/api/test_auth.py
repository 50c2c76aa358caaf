"""Tokens and roles: 401 without a valid token, 403 for a role that may not."""

import requests
from django.test import Client

from scheduler_admin.models import ApiToken, RunStatus, Schedule
from tests.api.conftest import LIVE, Api, token_for
from tests.factories import make_run, make_schedule, make_user

pytestmark = LIVE


def _endpoints(schedule: Schedule, run) -> list[tuple[str, str, str, dict | None]]:
    """(method, path, least role, body) for every API endpoint; the delete last."""
    s = schedule.pk
    return [
        ("get", "schedules", "viewer", None),
        ("get", f"schedules/{s}", "viewer", None),
        ("get", f"schedules/{s}/runs", "viewer", None),
        ("get", f"schedules/{s}/runs/{run.pk}", "viewer", None),
        ("get", "runs", "viewer", None),
        ("get", "traces/nope", "viewer", None),
        ("get", "sessions/nope", "viewer", None),
        ("post", f"schedules/{s}/disable", "operator", None),
        ("post", f"schedules/{s}/enable", "operator", None),
        ("post", f"schedules/{s}/trigger", "operator", None),
        ("post", f"runs/{run.pk}/retry", "operator", None),
        ("post", "schedules", "admin", {"name": "new", "endpoint": "/x", "cron_expr": "0 * * * *"}),
        ("patch", f"schedules/{s}", "admin", {"description": "changed"}),
        ("delete", f"schedules/{s}", "admin", None),
    ]


RANK = {"viewer": 1, "operator": 2, "admin": 3}


def _check_role(server, role: str) -> None:
    api = Api(server.url, token_for(role))
    schedule = make_schedule(name=f"for-{role}")
    run = make_run(schedule, status=RunStatus.FAILED)
    for method, path, least, body in _endpoints(schedule, run):
        response = getattr(api, method)(path, json=body)
        if RANK[role] >= RANK[least]:
            assert response.status_code not in (401, 403), (role, method, path, response.text)
        else:
            assert response.status_code == 403, (role, method, path)
            assert "may not" in response.json()["detail"]


def test_viewer_reads_only(server):
    _check_role(server, "viewer")
    assert Schedule.objects.get(name="for-viewer").enabled  # nothing changed


def test_operator_triggers_retries_and_toggles_but_cannot_edit(server):
    _check_role(server, "operator")
    schedule = Schedule.objects.get(name="for-operator")
    assert schedule.runs.count() == 3  # the failed run, its retry, the manual trigger
    assert schedule.description == ""


def test_admin_may_do_everything(server):
    _check_role(server, "admin")
    assert not Schedule.objects.filter(name="for-admin").exists()
    assert Schedule.objects.filter(name="new").exists()


def test_every_endpoint_needs_a_token(anonymous_api):
    schedule = make_schedule()
    run = make_run(schedule)
    for method, path, _, body in _endpoints(schedule, run):
        response = getattr(anonymous_api, method)(path, json=body)
        assert response.status_code == 401, (method, path)
        assert "token" in response.json()["detail"]
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert Schedule.objects.count() == 1


def test_invalid_and_revoked_tokens_are_401(server):
    user = make_user("admin")
    token, raw = ApiToken.issue(user, "laptop")
    api = Api(server.url, raw)
    assert api.get("schedules").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    token.revoke()
    assert api.get("schedules").status_code == 401
    assert Api(server.url, raw + "x").get("schedules").status_code == 401
    basic = requests.get(f"{server.url}/api/schedules", auth=("u", "p"), timeout=10)
    assert basic.status_code == 401


def test_a_role_less_user_is_403(server):
    api = Api(server.url, token_for(None))
    assert api.get("schedules").status_code == 403


def test_a_logged_in_browser_session_cannot_use_the_api(server):
    client = Client()
    client.force_login(make_user("admin"))
    cookies = {"sessionid": client.cookies["sessionid"].value}
    body = {"name": "csrf", "endpoint": "/x", "cron_expr": "0 * * * *"}
    response = requests.post(f"{server.url}/api/schedules", json=body, cookies=cookies, timeout=10)
    assert response.status_code == 401
    assert not Schedule.objects.exists()


def test_openapi_description_is_public(anonymous_api):
    response = anonymous_api.get("openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_wrong_method_is_405(admin_api):
    response = admin_api.put("schedules")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"
