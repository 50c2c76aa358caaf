"""The JSON formatter: one object per line, ids from context, extra or message; secrets
redacted from messages and tracebacks."""

import json
import logging

import pytest

from scheduler_admin.ops.logs import ContextFilter, JsonFormatter, log_context


def line(msg: str, *args, exc_info=None, **extra) -> dict:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, msg, args, exc_info)
    for name, value in extra.items():
        setattr(record, name, value)
    ContextFilter().filter(record)
    text = JsonFormatter().format(record)
    assert "\n" not in text
    return json.loads(text)


def test_a_line_is_one_json_object_with_its_fields():
    entry = line("hello %s", "world")
    assert entry["message"] == "hello world"
    assert entry["level"] == "INFO" and entry["logger"] == "t"
    assert entry["time"].endswith("+00:00")


def test_ids_come_from_the_context_extra_or_the_message():
    with log_context(run=7, schedule=3, target="local", trace="abc"):
        entry = line("anything")
    assert (entry["run"], entry["schedule"], entry["target"], entry["trace"]) == (
        7,
        3,
        "local",
        "abc",
    )
    assert "run" not in line("after the block")
    assert line("run %s: lease lost", 42)["run"] == 42
    assert line("schedule %s: paused", 5)["schedule"] == 5
    assert line("x", run=9)["run"] == 9


@pytest.mark.parametrize(
    "message",
    [
        "Authorization: Bearer abcdefgh12345678",
        "token sat_AbCdEfGh12345678xyz in a message",
        "connecting to postgres://app:hunter2pass@db:5432/app",
        "calling https://x/?token=abcdef123456&a=1",
        "password=hunter2pass",
    ],
)
def test_secrets_are_redacted(message):
    text = json.dumps(line(message))
    for secret in ("abcdefgh12345678", "sat_AbCd", "hunter2pass", "abcdef123456"):
        assert secret not in text
    assert "[redacted]" in text


def test_values_of_secret_environment_variables_are_redacted_everywhere(monkeypatch):
    monkeypatch.setenv("MY_AGENT_TOKEN", "plain-looking-value")
    try:
        raise ValueError("server said plain-looking-value")
    except ValueError:
        import sys

        entry = line("failed with plain-looking-value", exc_info=sys.exc_info())
    assert "plain-looking-value" not in json.dumps(entry)
    assert "ValueError" in entry["exception"]
