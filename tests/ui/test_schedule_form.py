import json

import pytest
from django.urls import reverse

from scheduler_admin.models import AuditEntry, Schedule, Target


def valid_data(**overrides) -> dict:
    data = {
        "name": "daily digest",
        "description": "",
        "target": Target.objects.local().pk,
        "endpoint": "/agents/digest/runs",
        "method": "POST",
        "payload": json.dumps({"message": "Digest please"}),
        "cron_expr": "0 9 * * 1-5",
        "timezone": "Europe/Berlin",
        "timeout_s": "600",
        "max_retries": "2",
        "retry_delay_s": "60",
        "retry_backoff": "2",
        "enabled": "on",
        "overlap_policy": "skip",
        "catch_up_policy": "latest",
        "pause_after_failures": "",
    }
    data.update(overrides)
    return data


def test_admin_creates_a_schedule_through_the_engine(as_admin):
    response = as_admin.post(reverse("schedule_create"), valid_data())
    schedule = Schedule.objects.get(name="daily digest")
    assert response.status_code == 302
    assert response["Location"] == reverse("schedule_detail", args=[schedule.pk])
    assert schedule.payload == {"message": "Digest please"}
    assert schedule.next_run_at is not None  # computed by create_schedule
    assert AuditEntry.objects.filter(schedule=schedule, action="created").exists()


BAD_INPUT = [
    (
        {"cron_expr": "61 * * * *"},
        "cron_expr",
        "The minute field &#x27;61&#x27; is not valid: use 0-59",
    ),
    ({"cron_expr": "0 0 30 2 *"}, "cron_expr", "never fires: no month in &#x27;2&#x27; has day"),
    ({"cron_expr": "0 0 9 * * *"}, "cron_expr", "seconds are not supported"),
    ({"timezone": "Mars/Olympus"}, "timezone", "Unknown timezone"),
    ({"timezone": "Europe/Berlinn"}, "timezone", "did you mean Europe/Berlin,"),
    ({"payload": "{not json"}, "payload", "not valid JSON"),
    ({"payload": "[1, 2]"}, "payload", "must be a JSON object"),
    ({"timeout_s": "0"}, "timeout_s", "Must be between 1 and 86400; got 0."),
    ({"max_retries": "11"}, "max_retries", "Must be between 0 and 10; got 11."),
    ({"retry_delay_s": "99999"}, "retry_delay_s", "Must be between 1 and 3600"),
    ({"endpoint": "https://example.com/runs"}, "endpoint", "not a full URL"),
    ({"payload": '{"message": "a\\u0000"}'}, "payload", "NUL"),
    ({"name": "taken"}, "name", "already exists"),
]


def test_bad_input_shows_the_inline_message_and_saves_nothing(as_admin):
    as_admin.post(reverse("schedule_create"), valid_data(name="taken"))
    for overrides, field, message in BAD_INPUT:
        before = Schedule.objects.count()
        response = as_admin.post(
            reverse("schedule_create"),
            valid_data(name="fresh", **overrides)
            if "name" not in overrides
            else valid_data(**overrides),
        )
        page = response.content.decode()
        assert response.status_code == 400, overrides
        assert field in response.context["form"].errors, (
            overrides,
            response.context["form"].errors,
        )
        assert message in page, (overrides, response.context["form"].errors)
        assert f'id="id_{field}-err"><p class="error">' in page, overrides
        assert Schedule.objects.count() == before, overrides


def test_edit_saves_a_diff_in_the_change_history(as_admin):
    as_admin.post(reverse("schedule_create"), valid_data())
    schedule = Schedule.objects.get(name="daily digest")
    response = as_admin.post(
        reverse("schedule_edit", args=[schedule.pk]), valid_data(cron_expr="30 7 * * *")
    )
    assert response.status_code == 302
    schedule.refresh_from_db()
    assert schedule.cron_expr == "30 7 * * *"
    entry = AuditEntry.objects.get(schedule=schedule, action="updated")
    assert entry.changes == {"cron_expr": ["0 9 * * 1-5", "30 7 * * *"]}
    detail = as_admin.get(reverse("schedule_detail", args=[schedule.pk])).content.decode()
    assert "<del>0 9 * * 1-5</del> → <ins>30 7 * * *</ins>" in detail


def test_edit_form_shows_payload_as_json_and_warns_for_code_managed(as_admin):
    as_admin.post(reverse("schedule_create"), valid_data())
    schedule = Schedule.objects.get(name="daily digest")
    Schedule.objects.filter(pk=schedule.pk).update(code_managed=True)
    page = as_admin.get(reverse("schedule_edit", args=[schedule.pk])).content.decode()
    assert "&quot;message&quot;: &quot;Digest please&quot;" in page
    assert "will be overwritten at the next start" in page


def test_preview_explains_cron_and_lists_five_fires_in_the_timezone(as_admin):
    response = as_admin.get(
        reverse("schedule_preview"), {"cron_expr": "30 2 * * *", "timezone": "Europe/Berlin"}
    )
    page = response.content.decode()
    assert "<html" not in page
    assert "At 02:30" in page
    assert page.count("<li>") == 5
    assert "CET" in page or "CEST" in page


def test_preview_marks_a_dst_change(as_admin, time_machine):
    time_machine.move_to("2026-03-27T12:00:00Z")  # Berlin springs forward on 2026-03-29
    response = as_admin.get(
        reverse("schedule_preview"), {"cron_expr": "0 12 * * *", "timezone": "Europe/Berlin"}
    )
    items = response.content.decode().split("<li>")[1:]
    assert ["DST change" in item for item in items] == [False, True, False, False, False]
    assert "Sun 2026-03-29 12:00 CEST" in items[1]
    assert "DST change (UTC+0200)" in items[1]


@pytest.mark.parametrize(
    "params, message",
    [
        ({"cron_expr": "* * *", "timezone": "UTC"}, "has 3"),
        ({"cron_expr": "* * * * *", "timezone": "Nowhere/Land"}, "Unknown timezone"),
    ],
)
def test_preview_says_what_is_wrong(as_viewer, params, message):
    response = as_viewer.get(reverse("schedule_preview"), params)
    assert message in response.content.decode()


def test_payload_check_validates_json_live(as_viewer):
    url = reverse("schedule_payload_check")
    assert b"Valid JSON object" in as_viewer.get(url, {"payload": '{"a": 1}'}).content
    assert b"not valid JSON" in as_viewer.get(url, {"payload": '{"a": '}).content
    assert b"must be a JSON object" in as_viewer.get(url, {"payload": '"text"'}).content


def test_payload_is_escaped_on_the_detail_page(as_admin):
    as_admin.post(
        reverse("schedule_create"),
        valid_data(payload=json.dumps({"message": "<script>alert(1)</script>"})),
    )
    schedule = Schedule.objects.get(name="daily digest")
    page = as_admin.get(reverse("schedule_detail", args=[schedule.pk])).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_timezone_is_read_whatever_its_case(as_admin):
    """Issue 12: "europe/berlin" was refused for its case."""
    response = as_admin.post(reverse("schedule_create"), valid_data(timezone="europe/berlin"))
    assert response.status_code == 302
    assert Schedule.objects.get(name="daily digest").timezone == "Europe/Berlin"
    preview = as_admin.get(
        reverse("schedule_preview"), {"cron_expr": "0 9 * * *", "timezone": "europe/berlin"}
    )
    assert "Unknown timezone" not in preview.content.decode()
    assert "CE" in preview.content.decode()  # CET or CEST fire times


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("* 24 * * *", "The hour field &#x27;24&#x27; is not valid: use 0-23"),
        ("* * 32 * *", "The day-of-month field &#x27;32&#x27; is not valid: use 1-31"),
        ("* * * 13 *", "The month field &#x27;13&#x27; is not valid: use 1-12 or JAN-DEC"),
        ("* * * * 8", "The day-of-week field &#x27;8&#x27; is not valid: use 0-7"),
        ("0 0 31 4 *", "This expression never fires"),
    ],
)
def test_every_cron_error_names_its_field_and_range(as_admin, expr, message):
    """Issue 12: "Bad minute." gave no range; 0 0 30 2 * said "Bad day-of-month"."""
    preview = as_admin.get(reverse("schedule_preview"), {"cron_expr": expr, "timezone": "UTC"})
    assert message in preview.content.decode()


def test_the_endpoint_field_offers_what_the_target_serves(as_admin):
    """Issue 12: the endpoint field gave no hint although Test connection knows the agents."""
    from agentos_bridge.runtime import registry

    local = Target.objects.local()
    page = as_admin.get(reverse("schedule_create")).content.decode()
    assert 'list="endpoint-options"' in page and reverse("schedule_endpoints") in page
    options = as_admin.get(
        reverse("schedule_endpoints"), {"target": local.pk}, HTTP_HX_REQUEST="true"
    ).content.decode()
    served = [
        (kind, cid) for kind in ("agents", "teams", "workflows") for cid in registry.ids(kind)
    ]
    assert served
    for kind, component_id in served:
        assert f'<option value="/{kind}/{component_id}/runs">' in options
    assert "serves" in options


def test_endpoint_suggestions_are_for_admins(as_viewer):
    assert as_viewer.get(reverse("schedule_endpoints")).status_code == 403


def test_the_cron_preview_sits_beside_the_cron_field(as_admin):
    """Issue 12: the preview sat below the timezone field, off-screen while typing."""
    schedule = Schedule.objects.create(
        name="x", endpoint="/noop", cron_expr="0 9 * * *", target=Target.objects.local()
    )
    page = as_admin.get(reverse("schedule_edit", args=[schedule.pk])).content.decode()
    cron_field = page.index('name="cron_expr"')
    assert cron_field < page.index('id="cron-preview"') < page.index('name="timezone"')
