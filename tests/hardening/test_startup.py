import os
import subprocess
import sys

from tests.system.stack import ROOT


def test_missing_secret_key_prints_the_message_not_a_traceback():
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DJANGO_SETTINGS_MODULE")}
    env["DEBUG"] = "false"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "Set the environment variable SECRET_KEY." in result.stderr
    assert "Traceback" not in result.stderr
