from django.urls import reverse

from scheduler_admin.models import AgentSession


def test_session_page_lists_its_runs_and_traces(as_viewer, trace, failed_run):
    AgentSession.objects.create(session_id="sess-1", session_name="nightly session")
    page = as_viewer.get(reverse("session_detail", args=["sess-1"])).content.decode()
    assert "nightly session" in page
    assert f'href="{reverse("run_detail", args=[failed_run.pk])}"' in page
    assert f'href="{reverse("trace_detail", args=[trace.trace_id])}"' in page


def test_unknown_session_says_nothing_is_known(as_viewer):
    response = as_viewer.get(reverse("session_detail", args=["nope"]))
    assert response.status_code == 404
    assert b"Nothing is known about this session yet." in response.content
