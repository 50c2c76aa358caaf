"""The real settings, read with test-friendly environment defaults."""

import os

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("SCHEDULER_DISPATCH", "manual")

from scheduler_admin.settings import *  # noqa: E402,F403 - the real settings, unchanged
