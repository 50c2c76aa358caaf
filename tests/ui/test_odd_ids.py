"""Agent servers choose run, session and trace ids: any text must link and resolve."""

import html
import re
from urllib.parse import unquote

from django.urls import resolve, reverse
from django.utils import timezone

from scheduler_admin.models import RunStatus, Trace
from tests.factories import make_run, make_schedule

RUN_ID, SESSION_ID, TRACE_ID = "a/b c<x>", "s/1", "t/1 <y>?z#w"


def _hrefs(page: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"]+)"', page)]


def _target(href: str):
    match = resolve(unquote(href.split("?")[0]))
    return match.url_name, match.kwargs


def test_odd_ids_render_and_their_links_resolve(as_viewer):
    schedule = make_schedule()
    run = make_run(
        schedule,
        status=RunStatus.SUCCESS,
        run_id=RUN_ID,
        session_id=SESSION_ID,
        completed_at=timezone.now(),
    )
    Trace.objects.create(
        trace_id=TRACE_ID, name="odd", run_id=RUN_ID, session_id=SESSION_ID, schedule_run=run
    )
    pages = [
        reverse("run_list"),
        reverse("run_detail", args=[run.pk]),
        reverse("schedule_detail", args=[schedule.pk]),
        reverse("trace_detail", args=[TRACE_ID]),
    ]
    found = set()
    for url in pages:
        response = as_viewer.get(url)
        assert response.status_code == 200, url
        for href in _hrefs(response.content.decode()):
            if href.startswith("/") and not href.startswith("/static/"):
                name, kwargs = _target(href)
                found.add((name, tuple(sorted(kwargs.items()))))
    assert ("run_by_run_id", (("run_id", RUN_ID),)) in found
    assert ("session_detail", (("session_id", SESSION_ID),)) in found
    assert ("trace_detail", (("trace_id", TRACE_ID),)) in found


def test_odd_ids_reach_their_pages(as_viewer):
    run = make_run(make_schedule(), run_id=RUN_ID, session_id=SESSION_ID)
    Trace.objects.create(trace_id=TRACE_ID, name="odd", run_id=RUN_ID, schedule_run=run)
    followed = as_viewer.get(reverse("run_by_run_id", args=[RUN_ID]))
    assert followed.status_code == 302
    assert followed["Location"] == reverse("trace_detail", args=[TRACE_ID])
    trace_page = as_viewer.get(followed["Location"])
    assert trace_page.status_code == 200
    assert trace_page.context["trace"].trace_id == TRACE_ID
    session_page = as_viewer.get(reverse("session_detail", args=[SESSION_ID]))
    assert session_page.status_code == 200
    assert SESSION_ID in session_page.content.decode()
