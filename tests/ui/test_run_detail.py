import json

import pytest
from django.urls import reverse

from scheduler_admin.models import RunStatus, ScheduleRun, Trigger
from tests.factories import make_run, make_schedule


def test_detail_shows_every_field_escaped(as_viewer):
    schedule = make_schedule(payload={"message": "<script>alert(1)</script>"})
    run = make_run(
        schedule,
        status=RunStatus.FAILED,
        status_code=502,
        error="Bad gateway <script>alert(1)</script>\nsecond line",
        output={"content": "<b>x</b>"},
        run_id="rid",
        session_id="sid",
    )
    page = as_viewer.get(reverse("run_detail", args=[run.pk])).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "Bad gateway &lt;script&gt;alert(1)&lt;/script&gt;\nsecond line" in page
    assert "&quot;message&quot;: &quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;" in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page
    assert "502" in page and run.idempotency_key in page
    assert "Retry" not in page  # a viewer


def test_attempt_chain_is_listed(as_viewer):
    schedule = make_schedule()
    first = make_run(schedule, status=RunStatus.FAILED)
    second = make_run(
        schedule, status=RunStatus.FAILED, attempt=2, retry_of=first, trigger=Trigger.RETRY
    )
    page = as_viewer.get(reverse("run_detail", args=[first.pk])).content.decode()
    assert f'href="{reverse("run_detail", args=[second.pk])}"' in page
    assert f"retries #{first.pk}" in page


def test_retry_from_the_page_redirects_to_the_new_attempt(as_operator):
    run = make_run(make_schedule(), status=RunStatus.FAILED)
    response = as_operator.post(reverse("run_retry", args=[run.pk]))
    retry = ScheduleRun.objects.get(retry_of=run)
    assert response["Location"] == reverse("run_detail", args=[retry.pk])
    assert retry.attempt == 2 and retry.status == RunStatus.QUEUED


def test_retry_from_a_row_answers_with_the_new_attempts_row(as_operator):
    run = make_run(make_schedule(), status=RunStatus.FAILED)
    response = as_operator.post(
        reverse("run_retry", args=[run.pk]), {"pick": "1"}, HTTP_HX_REQUEST="true"
    )
    retry = ScheduleRun.objects.get(retry_of=run)
    body = response.content.decode()
    assert body.strip().startswith(f'<tr id="run-{retry.pk}"')
    assert f"Retry of run {run.pk} queued." in body
    assert "status-queued" in body


def test_retry_of_a_successful_run_is_refused_with_a_reason(as_operator):
    run = make_run(make_schedule(), status=RunStatus.SUCCESS)
    response = as_operator.post(reverse("run_retry", args=[run.pk]), follow=True)
    assert "A success run cannot be retried." in response.content.decode()
    assert not ScheduleRun.objects.filter(retry_of=run).exists()


def test_retry_with_an_edited_payload(as_operator):
    run = make_run(make_schedule(), status=RunStatus.FAILED, input={"message": "old"})
    as_operator.post(
        reverse("run_retry", args=[run.pk]), {"payload": json.dumps({"message": "new"})}
    )
    assert ScheduleRun.objects.get(retry_of=run).input == {"message": "new"}


@pytest.mark.parametrize("text, message", [("{oops", "not valid JSON"), ("[]", "JSON object")])
def test_retry_with_a_bad_payload_shows_why_and_retries_nothing(as_operator, text, message):
    run = make_run(make_schedule(), status=RunStatus.FAILED)
    response = as_operator.post(reverse("run_retry", args=[run.pk]), {"payload": text})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ScheduleRun.objects.filter(retry_of=run).exists()


@pytest.mark.parametrize("n", [5, 50])
def test_query_count_is_constant(as_operator, django_assert_max_num_queries, n):
    schedule = make_schedule()
    previous = None
    for i in range(n):
        previous = make_run(schedule, status=RunStatus.FAILED, attempt=i + 1, retry_of=previous)
    with django_assert_max_num_queries(9):  # incl. the approvals count
        response = as_operator.get(reverse("run_detail", args=[previous.pk]))
    assert len(response.context["attempts"]) == n


def test_the_failure_comes_first(as_operator):
    """Issue 12: the error sat 676 px down under 19 metadata rows."""
    run = make_run(make_schedule(), status=RunStatus.FAILED, error="upstream said 500")
    page = as_operator.get(reverse("run_detail", args=[run.pk])).content.decode()
    error = page.index("upstream said 500")
    assert page.index(">Retry</button>") < error < page.index("Attempts of this firing")
    assert error < page.index("Idempotency key") and error < page.index("Lease until")


def test_an_already_retried_attempt_offers_no_retry_but_the_latest(as_operator):
    schedule = make_schedule()
    first = make_run(schedule, status=RunStatus.FAILED)
    latest = make_run(
        schedule, status=RunStatus.FAILED, attempt=2, retry_of=first, trigger=Trigger.RETRY
    )
    page = as_operator.get(reverse("run_detail", args=[first.pk])).content.decode()
    assert ">Retry</button>" not in page and "Retry with an edited payload" not in page
    assert f'latest attempt is\n  <a href="{reverse("run_detail", args=[latest.pk])}"' in page
    assert (
        ">Retry</button>"
        in as_operator.get(reverse("run_detail", args=[latest.pk])).content.decode()
    )


def test_a_refused_retry_keeps_the_edited_payload(as_operator):
    """Issue 12: an edited payload was thrown away when the retry was refused."""
    schedule = make_schedule()
    first = make_run(schedule, status=RunStatus.FAILED)
    make_run(schedule, status=RunStatus.FAILED, attempt=2, retry_of=first, trigger=Trigger.RETRY)
    edited = json.dumps({"message": "my careful edit"})
    response = as_operator.post(reverse("run_retry", args=[first.pk]), {"payload": edited})
    assert response.status_code == 409
    page = response.content.decode()
    assert "already retried" in page and "my careful edit" in page
    assert not ScheduleRun.objects.filter(attempt=3).exists()


def _poll(client, run, stamp):
    return client.get(
        reverse("run_detail", args=[run.pk]),
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="run-live",
        HTTP_X_LIVE_STAMP=stamp,
    )


def test_a_running_run_page_updates_itself(as_viewer, django_assert_max_num_queries):
    """Issue 12: a run page stayed "running", without its run id, until reloaded."""
    run = make_run(make_schedule(), status=RunStatus.RUNNING)
    page = as_viewer.get(reverse("run_detail", args=[run.pk]))
    assert 'hx-trigger="every 2s"' in page.content.decode()
    stamp = page.context["stamp"]
    with django_assert_max_num_queries(4):  # session, user, role, the firing's attempts
        assert _poll(as_viewer, run, stamp).status_code == 204
    ScheduleRun.objects.filter(pk=run.pk).update(status=RunStatus.SUCCESS, run_id="agno-77")
    poll = _poll(as_viewer, run, stamp)
    body = poll.content.decode()
    assert poll.status_code == 200 and "status-success" in body and "agno-77" in body
    assert body.lstrip().startswith('<div id="run-live"') and "<html" not in body
    assert f'"X-Live-Stamp": "{stamp}"' not in body  # the next poll sends the new one
