"""List endpoints run a fixed number of queries, however many rows they show."""

import pytest
from django.test import Client

from scheduler_admin.models import ApiToken, RunStatus
from tests.factories import make_run, make_schedule, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_with_token() -> Client:
    _, raw = ApiToken.issue(make_user("viewer"), "counting")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.fixture
def many_runs():
    schedules = [make_schedule() for _ in range(5)]
    for schedule in schedules:
        for attempt in range(1, 9):
            make_run(schedule, attempt=attempt, status=RunStatus.FAILED, session_id="s")
    return schedules


# token lookup + last_used_at update + role groups, then the page's own queries
# (runs: one more for their traces, prefetched for the trace_id field)
@pytest.mark.parametrize(
    ("path", "budget"),
    [
        ("/api/schedules", 5),
        ("/api/runs?status=failed&limit=30", 5),
        ("/api/sessions/s", 6),
    ],
)
def test_list_query_count_is_fixed(
    client_with_token, many_runs, django_assert_max_num_queries, path, budget
):
    with django_assert_max_num_queries(budget):
        response = client_with_token.get(path)
    assert response.status_code == 200
    assert response.json()["data" if "sessions" not in path else "runs"]


def test_schedule_runs_page_query_count(
    client_with_token, many_runs, django_assert_max_num_queries
):
    with django_assert_max_num_queries(7):
        response = client_with_token.get(f"/api/schedules/{many_runs[0].pk}/runs?limit=5")
    assert len(response.json()["data"]) == 5


def test_the_approvals_list_query_count_is_fixed(client_with_token, django_assert_max_num_queries):
    from tests.factories import INPUT_STEP, make_paused_run

    for _ in range(10):
        make_paused_run(INPUT_STEP)
    with django_assert_max_num_queries(4):  # token, last_used_at, role, the paused runs
        response = client_with_token.get("/api/approvals")
    assert len(response.json()["data"]) == 10
