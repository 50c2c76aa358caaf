"""Only a real unique violation may say "already exists" or "retried already": any other
refusal by the database is reported as what it is."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from scheduler_admin.engine import operations
from scheduler_admin.models import RunStatus, Schedule, ScheduleRun
from tests.factories import make_run, make_schedule

pytestmark = pytest.mark.django_db

DATA = {"name": "digest", "endpoint": "/noop", "cron_expr": "0 9 * * *"}


def refuse(*args, **kwargs):
    raise IntegrityError("CHECK constraint failed: JSON_VALID(payload)")


def test_a_check_violation_on_create_is_not_called_a_duplicate(monkeypatch):
    monkeypatch.setattr(Schedule, "save", refuse)
    with pytest.raises(ValidationError) as error:
        operations.create_schedule(DATA)
    assert "already exists" not in str(error.value)
    assert "database refused" in str(error.value)


def test_a_taken_name_on_create_is_a_duplicate(monkeypatch):
    make_schedule(name="digest")
    # As if a concurrent create won between validation and save.
    monkeypatch.setattr(Schedule, "validate_unique", lambda self, exclude=None: None)
    with pytest.raises(ValidationError) as error:
        operations.create_schedule(DATA)
    assert error.value.message_dict["name"] == ["A schedule with this name already exists."]


def test_a_check_violation_on_update_is_not_called_a_duplicate(monkeypatch):
    schedule = make_schedule(name="digest")
    monkeypatch.setattr(Schedule, "save", refuse)
    with pytest.raises(ValidationError) as error:
        operations.update_schedule(schedule, {"description": "x"})
    assert "already exists" not in str(error.value)


def test_a_check_violation_on_retry_is_not_called_retried_already(monkeypatch):
    run = make_run(make_schedule(), status=RunStatus.FAILED)
    monkeypatch.setattr(ScheduleRun.objects, "create", refuse)
    with pytest.raises(ValidationError) as error:
        operations.retry_run(run, payload={"message": "x"})
    assert "retried already" not in str(error.value)
    assert "payload" in error.value.message_dict
