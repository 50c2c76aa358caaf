"""How an AgentOS schedule becomes ours: the same names and type checks as the API."""

import pytest

from scheduler_admin.api import agentos_import
from scheduler_admin.api.serializers import TO_MODEL
from scheduler_admin.models import Schedule, Target

pytestmark = pytest.mark.django_db


def test_agentos_fields_take_the_api_names_and_defaults():
    target = Target.objects.local()
    item = {
        "id": "remote-7",
        "name": "digest",
        "method": "get",
        "endpoint": "/health",
        "cron_expr": "0 9 * * *",
        "timeout_seconds": 120,
        "retry_delay_seconds": 30,
        "description": None,
        "payload": None,
        "timezone": None,
        "next_run_at": 1767258000,
    }
    data = agentos_import.to_schedule_data(item, target)
    assert data == {
        "name": "digest",
        "description": "",
        "payload": {},
        "method": "GET",
        "endpoint": "/health",
        "cron_expr": "0 9 * * *",
        "timezone": "UTC",
        TO_MODEL["timeout_seconds"]: 120,
        "max_retries": 0,
        TO_MODEL["retry_delay_seconds"]: 30,
        "enabled": True,
        "target": target,
    }


def test_a_wrongly_typed_field_is_an_invalid_line_and_nothing_is_saved():
    target = Target.objects.local()
    items = [
        {"name": "bad", "endpoint": "/x", "cron_expr": "0 9 * * *", "max_retries": "two"},
        "not an object",
    ]
    lines = [agentos_import._import_one(item, target, None) for item in items]
    assert [(line.action, line.name) for line in lines] == [("invalid", "bad"), ("invalid", "?")]
    assert "max_retries: Input should be a valid integer." in lines[0].detail
    assert not Schedule.objects.exists()
