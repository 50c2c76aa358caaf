from django.urls import reverse

from scheduler_admin.engine.operations import set_enabled, update_schedule
from tests.factories import make_schedule


def test_audit_log_lists_changes_newest_first_with_diffs(as_viewer):
    schedule = make_schedule(name="audited")
    update_schedule(schedule, {"timeout_s": 30})
    set_enabled(schedule, False, reason="<b>maintenance</b>")
    response = as_viewer.get(reverse("audit_list"))
    actions = [e.action for e in response.context["page"].rows]
    assert actions == ["paused", "updated", "created"]
    page = response.content.decode()
    assert "<del>3600</del> → <ins>30</ins>" in page
    assert "&lt;b&gt;maintenance&lt;/b&gt;" in page


def test_audit_log_pages_by_keyset(as_viewer):
    schedule = make_schedule()
    for i in range(60):
        update_schedule(schedule, {"timeout_s": i + 1})
    first = as_viewer.get(reverse("audit_list")).context["page"]
    assert len(first.rows) == 50 and first.older
    rest = as_viewer.get(reverse("audit_list"), {"before": first.older}).context["page"]
    assert len(rest.rows) == 11 and rest.older is None
