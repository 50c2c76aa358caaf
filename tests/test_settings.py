"""Production settings are secure by default: `check --deploy` is clean."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    unwanted = ("DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")  # the last: browser tests
    clean = {k: v for k, v in os.environ.items() if k not in unwanted}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "scheduler_admin.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_in_production_settings(tmp_path):
    result = manage(
        {
            "SECRET_KEY": "x" * 30 + "production-secret-key-long-enough-0123456789",
            "ALLOWED_HOSTS": "scheduler.example.com",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        },
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = manage({"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}, "check")
    assert result.returncode != 0
    assert "Set the environment variable SECRET_KEY" in result.stderr


def test_a_bad_boolean_in_the_environment_fails_loudly(tmp_path):
    result = manage({"DEBUG": "maybe"}, "check")
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


SCHEDULER_BAD_VALUES = [
    ("SCHEDULER_BATCH_SIZE", "0", "out of range"),
    ("SCHEDULER_CATCH_UP_MAX_RUNS", "0", "out of range"),
    ("SCHEDULER_LEASE_S", "0", "out of range"),
    ("SCHEDULER_POLL_INTERVAL_S", "-1", "out of range"),
    ("SCHEDULER_POLL_INTERVAL_S", "nan", "not a finite number"),
    ("SCHEDULER_REDISPATCH_AFTER_S", "0", "out of range"),
    ("SCHEDULER_CATCH_UP_WINDOW_S", "-5", "out of range"),
    ("SCHEDULER_LATE_AFTER_S", "inf", "not a finite number"),
    ("RUN_RETENTION_DAYS", "-1", "out of range"),
    ("SCHEDULER_DISPATCH", "carrier-pigeon", "is not one of"),
]


def test_scheduler_settings_out_of_range_stop_the_process_naming_the_variable(tmp_path):
    for name, value, message in SCHEDULER_BAD_VALUES:
        result = manage(
            {"DEBUG": "true", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", name: value},
            "check",
        )
        assert result.returncode != 0, name
        assert f"{name}={value!r}" in result.stderr and message in result.stderr, result.stderr
