import pytest

from tests.factories import make_user


@pytest.fixture
def viewer(db):
    return make_user("viewer")


@pytest.fixture
def operator(db):
    return make_user("operator")


@pytest.fixture
def admin_user(db):
    return make_user("admin")


@pytest.fixture
def continues_sent(monkeypatch):
    """An agent server that takes every continue: records (run_id, step_requirements)."""
    from agentos_bridge.remote_runs import Continued

    calls = []

    def continue_run(request, run_id, session_id, step_requirements):
        calls.append((run_id, step_requirements))
        return Continued("sent")

    monkeypatch.setattr("agentos_bridge.remote_runs.continue_run", continue_run)
    return calls
