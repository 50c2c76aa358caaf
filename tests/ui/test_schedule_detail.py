from django.urls import reverse

from scheduler_admin.models import AuditEntry, RunStatus, Schedule, ScheduleRun, Trigger
from tests.factories import make_run, make_schedule


def test_detail_shows_settings_history_and_controls_for_operator(as_operator):
    schedule = make_schedule(name="hourly", cron_expr="0 * * * *")
    for i in range(30):
        make_run(
            schedule, scheduled_for=f"2026-01-01T{i % 24:02d}:{i:02d}:00Z", status=RunStatus.SUCCESS
        )
    response = as_operator.get(reverse("schedule_detail", args=[schedule.pk]))
    page = response.content.decode()
    assert "At the start of every hour" in page  # cron.explain("0 * * * *")
    assert len(response.context["page"].rows) == 25
    assert "Older →" in page
    assert "Trigger now" in page and "Pause" in page
    assert "Edit" not in page  # admin only
    older = as_operator.get(
        reverse("schedule_detail", args=[schedule.pk]),
        {"before": response.context["page"].older},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="schedule-runs",
    )
    assert b"<html" not in older.content
    assert older.content.count(b'<tr id="run-') == 5


def test_pause_with_a_reason_disables_and_shows_it(as_operator):
    schedule = make_schedule()
    response = as_operator.post(
        reverse("schedule_pause", args=[schedule.pk]),
        {"reason": "API quota exhausted"},
        follow=True,
    )
    schedule.refresh_from_db()
    assert not schedule.enabled and schedule.paused_reason == "API quota exhausted"
    assert "Paused: API quota exhausted" in response.content.decode()
    assert AuditEntry.objects.filter(schedule=schedule, action="paused").exists()


def test_pause_without_a_reason_changes_nothing(as_operator):
    schedule = make_schedule()
    as_operator.post(reverse("schedule_pause", args=[schedule.pk]), {"reason": "  "})
    assert Schedule.objects.get(pk=schedule.pk).enabled


def test_trigger_now_queues_a_manual_run(as_operator):
    schedule = make_schedule()
    response = as_operator.post(reverse("schedule_trigger", args=[schedule.pk]), follow=True)
    run = ScheduleRun.objects.get(schedule=schedule)
    assert run.trigger == Trigger.MANUAL
    assert f"run {run.pk} queued" in response.content.decode()


def test_trigger_of_a_disabled_schedule_says_why(as_operator):
    schedule = make_schedule(enabled=False)
    response = as_operator.post(reverse("schedule_trigger", args=[schedule.pk]), follow=True)
    assert "is disabled; enable it first" in response.content.decode()
    assert not ScheduleRun.objects.exists()


def test_enable_clears_a_pause(as_operator):
    schedule = make_schedule()
    as_operator.post(reverse("schedule_pause", args=[schedule.pk]), {"reason": "x"})
    as_operator.post(reverse("schedule_enable", args=[schedule.pk]))
    schedule.refresh_from_db()
    assert schedule.enabled and schedule.paused_reason == ""


def test_delete_confirms_then_deletes(as_admin):
    schedule = make_schedule(name="doomed")
    confirm = as_admin.get(reverse("schedule_delete", args=[schedule.pk]))
    assert b"Delete \xe2\x80\x9cdoomed\xe2\x80\x9d?" in confirm.content
    assert Schedule.objects.filter(pk=schedule.pk).exists()
    response = as_admin.post(reverse("schedule_delete", args=[schedule.pk]), follow=True)
    assert not Schedule.objects.filter(pk=schedule.pk).exists()
    assert "Deleted doomed." in response.content.decode()


def test_code_managed_schedule_says_so(as_viewer):
    schedule = make_schedule()
    Schedule.objects.filter(pk=schedule.pk).update(code_managed=True)
    page = as_viewer.get(reverse("schedule_detail", args=[schedule.pk])).content.decode()
    assert "Defined in code" in page


def test_schedule_whose_stored_cron_no_longer_parses_still_shows(as_viewer):
    schedule = make_schedule(name="legacy")
    Schedule.objects.filter(pk=schedule.pk).update(cron_expr="61 * * * *")
    response = as_viewer.get(reverse("schedule_detail", args=[schedule.pk]))
    assert response.status_code == 200
    assert response.context["explained"] == ""
    assert "61 * * * *" in response.content.decode()


def _poll(client, schedule, stamp):
    return client.get(
        reverse("schedule_detail", args=[schedule.pk]),
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="schedule-runs",
        HTTP_X_LIVE_STAMP=stamp,
    )


def test_the_history_updates_itself_after_trigger_now(as_operator, django_assert_max_num_queries):
    """Issue 12: the page still said "queued" 10 s after Trigger now, and "run 78
    queued" was not a link."""
    schedule = make_schedule()
    response = as_operator.post(reverse("schedule_trigger", args=[schedule.pk]), follow=True)
    run = ScheduleRun.objects.get(schedule=schedule)
    page = response.content.decode()
    assert f'<a href="{reverse("run_detail", args=[run.pk])}">run {run.pk} queued</a>' in page
    assert 'hx-trigger="every 2s"' in page
    stamp = response.context["stamp"]
    with django_assert_max_num_queries(4):  # session, user, role, the newest runs
        assert _poll(as_operator, schedule, stamp).status_code == 204
    ScheduleRun.objects.filter(pk=run.pk).update(status=RunStatus.SUCCESS)
    poll = _poll(as_operator, schedule, stamp)
    assert poll.status_code == 200 and b"status-success" in poll.content
    assert poll.content.lstrip().startswith(b'<div id="schedule-runs"')


def test_a_failing_schedule_is_not_badged_enabled_and_next_run_is_local(as_viewer):
    schedule = make_schedule(cron_expr="0 9 * * *", timezone="Europe/Berlin")
    Schedule.objects.filter(pk=schedule.pk).update(consecutive_failures=3)
    page = as_viewer.get(reverse("schedule_detail", args=[schedule.pk])).content.decode()
    assert '<span class="status status-failed">failing</span>' in page
    assert 'status-success">enabled' not in page
    assert "09:00:00 CE" in page  # CET or CEST, the schedule's own wall time
