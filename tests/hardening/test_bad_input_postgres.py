"""The same bad-input battery on PostgreSQL: the one database that refuses NUL and
NaN in jsonb, and where a database error inside a request used to be a 500.

The battery runs in a pytest of its own with DATABASE_URL pointing at a throwaway
server, so every case runs unchanged through the real settings for PostgreSQL.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.system.stack import ROOT

HERE = Path(__file__).parent
# Our battery, and the older bad-parameter and odd-id tests of the console and the API.
BATTERY = [
    HERE / "test_bad_input.py",
    HERE.parent / "ui" / "test_bad_params.py",
    HERE.parent / "ui" / "test_odd_ids.py",
    HERE.parent / "api" / "test_odd_ids.py",
    HERE.parent / "api" / "test_idempotency.py",
]


@pytest.mark.slow
def test_bad_input_battery_passes_on_postgresql(postgres_url):
    env = {**os.environ, "DATABASE_URL": postgres_url, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *map(str, BATTERY)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-6000:]
    assert " passed" in result.stdout and "postgres" in postgres_url
