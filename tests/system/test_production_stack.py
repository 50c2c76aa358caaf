"""The production stack as systemd would run it: gunicorn (DEBUG=false, whitenoise), the
scheduler and a django-q2 cluster as separate processes. Chromium loads every page and
its hashed, compressed static files; /readyz turns unready when the scheduler stops and
ready again when it restarts."""

import json
import re
import sys
import urllib.error
import urllib.request

import pytest

from tests.browser.conftest import browser_type_launch_args  # noqa: F401 - Chromium's flags
from tests.system.stack import Stack, free_port, wait_for

pytestmark = pytest.mark.slow

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "production-like-secret-key-" + "x" * 40,
    "ALLOWED_HOSTS": "localhost,127.0.0.1",
    # Plain HTTP on loopback here; behind the TLS proxy in real life (docs/deploy.md).
    "SECURE_SSL_REDIRECT": "false",
    "HEARTBEAT_EVERY_S": "0.5",
    "READYZ_SCHEDULER_MAX_AGE_S": "3",
    "WEB_WORKERS": "2",
}
GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "python:scheduler_admin.ops.gunicorn_conf"]


def get(url: str) -> tuple[int | None, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except OSError:
        return None, {}


@pytest.fixture
def production(tmp_path):
    stack = Stack(
        f"sqlite:///{tmp_path / 'db.sqlite3'}",
        logs=tmp_path,
        STATIC_ROOT=str(tmp_path / "static"),
        **PRODUCTION,
    )
    stack.manage("migrate", "--no-input", "-v0")
    stack.manage("collectstatic", "--no-input", "-v0")
    stack.password = re.search(r"Log in as admin / (\S+)", stack.manage("seed_demo")).group(1)
    # Only short demo runs: a 20 s "slow pipeline" due at an even minute would still be
    # running when the fixture stops the workers, and they finish a run before stopping.
    stack.shell(
        "from scheduler_admin.models import Schedule\n"
        "Schedule.objects.exclude(name__in=['heartbeat', 'daily digest']).update(enabled=False)\n"
        "print(Schedule.objects.filter(enabled=True).count())"
    )
    stack.port = free_port()
    stack.start_argv(
        [*GUNICORN, "--bind", f"127.0.0.1:{stack.port}", "scheduler_admin.wsgi"], name="web"
    )
    stack.scheduler = stack.start("run_scheduler", name="scheduler")
    stack.start("qcluster", name="workers")
    yield stack
    stack.stop_all()


def test_every_page_and_its_static_files_load_in_chromium(production, page):
    base = f"http://localhost:{production.port}"
    wait_for(lambda: get(f"{base}/readyz")[0] == 200, 60, "/readyz to say ready")
    # A real run through the workers, for the run, trace and session pages.
    triggered = production.shell(
        "from scheduler_admin.engine.operations import trigger_now\n"
        "from scheduler_admin.models import Schedule\n"
        "print(trigger_now(Schedule.objects.get(name='daily digest')).pk)"
    )
    # This run, not another demo schedule's that may succeed first without a session.
    run_pk, run_id, session_id = wait_for(
        lambda: production.query(
            "SELECT id, run_id, session_id FROM agno_schedule_runs "
            "WHERE status = 'success' AND id = %s",
            (triggered,),
        ),
        60,
        "the digest run to succeed",
    )[0]
    trace_id = production.query("SELECT trace_id FROM agno_traces ORDER BY start_time LIMIT 1")[0][
        0
    ]
    schedule_pk = production.query("SELECT id FROM agno_schedules ORDER BY id LIMIT 1")[0][0]
    target_pk = production.query("SELECT id FROM agno_targets ORDER BY id LIMIT 1")[0][0]

    static, failures = {}, []
    page.on("response", lambda r: static.setdefault(r.url, r) if "/static/" in r.url else None)
    page.on("response", lambda r: failures.append((r.status, r.url)) if r.status >= 400 else None)
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(production.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")

    pages = [
        "/",
        "/schedules/",
        "/schedules/new/",
        f"/schedules/{schedule_pk}/",
        f"/schedules/{schedule_pk}/edit/",
        "/runs/",
        f"/runs/{run_pk}/",
        f"/traces/{trace_id}/",
        f"/sessions/{session_id}/",
        "/targets/",
        "/targets/new/",
        f"/targets/{target_pk}/edit/",
        "/audit/",
        "/api/tokens/",
        "/admin/",
    ]
    for path in pages:
        response = page.goto(f"{base}{path}")
        assert response.status == 200, path
        page.wait_for_load_state("networkidle")
        # The stylesheet applied: the page is styled, not raw HTML.
        assert page.evaluate("document.styleSheets.length") >= 1, path
    assert not failures, failures

    ours = {url: r for url, r in static.items() if "/static/admin/" not in url}
    assert any(re.search(r"/static/css/app\.[0-9a-f]{12}\.css$", url) for url in ours), ours
    assert any(re.search(r"/static/js/htmx-[\d.]+\.min\.[0-9a-f]{12}\.js$", url) for url in ours)
    for url, response in static.items():
        headers = response.all_headers()
        assert response.status == 200, url
        assert "immutable" in headers["cache-control"], url
        if url.endswith((".css", ".js")):
            assert headers.get("content-encoding") in ("gzip", "br"), url
    assert run_id  # the digest reported its agent run id


def test_readyz_turns_unready_when_the_scheduler_stops_and_ready_when_it_restarts(production):
    url = f"http://127.0.0.1:{production.port}/readyz"
    wait_for(lambda: get(url)[0] == 200, 60, "/readyz to say ready")

    assert production.stop(production.scheduler)
    status, body = wait_for(lambda: (r := get(url))[0] == 503 and r, 30, "/readyz to say unready")
    assert body["status"] == "unready"
    assert not body["checks"]["scheduler"]["ok"]
    assert body["checks"]["database"]["ok"] and body["checks"]["broker"]["ok"]

    production.scheduler = production.start("run_scheduler", name="scheduler-again")
    status, body = wait_for(lambda: (r := get(url))[0] == 200 and r, 60, "/readyz ready again")
    assert body["checks"]["scheduler"]["ok"]
