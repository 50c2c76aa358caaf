"""The real settings, read with test-friendly environment defaults."""

import os

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("SCHEDULER_DISPATCH", "manual")
os.environ.setdefault("ALERT_DELIVERY", "manual")
# Unit tests fire at the `now` they pass; firing ahead has its own tests, and the
# system tests' processes run with the production default (tests/system/stack.py).
os.environ.setdefault("SCHEDULER_FIRE_AHEAD_S", "0")

from scheduler_admin.settings import *  # noqa: E402,F403 - the real settings, unchanged
from scheduler_admin.settings import BASE_DIR, DATABASES  # noqa: E402

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not SQLite's shared-cache memory database: live-server tests run runs in
    # background threads, and only a file database makes writers wait (busy timeout)
    # instead of failing with "database table is locked". One file per test process.
    (BASE_DIR / "var").mkdir(exist_ok=True)
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / f"test-{os.getpid()}.sqlite3")}

# The local runtime's paused runs: a file of this test process's own, too.
LOCAL_AGNO_DB = str(BASE_DIR / "var" / f"test-pauses-{os.getpid()}.sqlite3")
