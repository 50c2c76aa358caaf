"""/api/traces/<id> and /api/sessions/<id> take any id an agent server chose,
"/" included (Django's test client: no server needed)."""

import pytest
from django.test import Client

from scheduler_admin.models import Trace
from tests.api.conftest import token_for
from tests.factories import make_run, make_schedule

pytestmark = pytest.mark.django_db


def test_trace_and_session_ids_with_slashes_and_spaces_resolve():
    client = Client(headers={"Authorization": f"Bearer {token_for('viewer')}"})
    make_run(make_schedule(), session_id="s/1 x", run_id="r/1")
    Trace.objects.create(trace_id="t/1 <x>", name="odd", session_id="s/1 x")
    trace = client.get("/api/traces/t%2F1%20%3Cx%3E")
    assert trace.status_code == 200
    assert trace.json()["trace_id"] == "t/1 <x>"
    session = client.get("/api/sessions/s/1%20x")
    assert session.status_code == 200
    assert session.json()["session_id"] == "s/1 x"
    assert [run["run_id"] for run in session.json()["runs"]] == ["r/1"]
