"""The local AgentOS's read endpoints with odd ids and bad query values (Django's
test client: no server needed for these)."""

import pytest
from django.test import Client
from django.utils import timezone

from scheduler_admin.models import AgentSession, Span, Trace

TOKEN = "local-agentos-views-7c1e"


@pytest.fixture
def agentos(db, monkeypatch) -> Client:
    monkeypatch.setenv("AGENTOS_LOCAL_TOKEN", TOKEN)
    return Client(headers={"Authorization": f"Bearer {TOKEN}"})


def _trace(trace_id: str) -> Trace:
    now = timezone.now()
    trace = Trace.objects.create(trace_id=trace_id, name="t", source="local", start_time=now)
    Span.objects.create(trace=trace, span_id="root", name="root", start_time=now)
    Span.objects.create(trace=trace, span_id="kid", parent_span_id="root", name="kid")
    return trace


def test_trace_and_session_ids_with_slashes_resolve(agentos):
    _trace("t/1 <x>")
    AgentSession.objects.create(session_id="s/1", session_type="agent", component_id="a")
    trace = agentos.get("/agentos/traces/t%2F1%20%3Cx%3E")
    assert trace.status_code == 200
    assert trace.json()["trace_id"] == "t/1 <x>"
    assert [n["id"] for n in trace.json()["tree"]] == ["root"]
    assert [n["id"] for n in trace.json()["tree"][0]["spans"]] == ["kid"]
    session = agentos.get("/agentos/sessions/s/1")
    assert session.status_code == 200
    assert session.json()["session_id"] == "s/1"


@pytest.mark.parametrize("value", ["abc", "2026-13-01", "yesterday"])
def test_bad_start_time_is_a_422_like_agentos(agentos, value):
    response = agentos.get("/agentos/traces", {"start_time": value})
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["query", "start_time"]


def test_start_time_filters_and_a_huge_page_is_just_empty(agentos):
    _trace("t-1")
    assert (
        agentos.get("/agentos/traces", {"start_time": "2000-01-01"}).json()["meta"]["total_count"]
        == 1
    )
    assert (
        agentos.get("/agentos/traces", {"start_time": "2999-01-01T00:00:00Z"}).json()["data"] == []
    )
    far = agentos.get("/agentos/traces", {"page": "9" * 30})
    assert far.status_code == 200 and far.json()["data"] == []
