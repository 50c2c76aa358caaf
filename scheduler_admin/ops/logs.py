"""Structured logs: ``LOG_FORMAT=json`` prints one JSON object per line.

Each line carries the ids of what it is about (``run``, ``schedule``, ``target``,
``trace``), taken from, in order: ``extra={...}`` on the call, the context bound with
:func:`log_context` (the django-q2 task binds the run, its schedule and target; the
bridge binds the firing's trace), and the house convention of starting a line about a
run with ``"run %s: ..."``, which also covers threads that do not inherit the context.

No secrets: bearer tokens, personal API tokens and the values of secret environment
variables are replaced by ``[redacted]`` in every message and traceback. This module is
imported by the logging configuration, before Django's apps are ready: stdlib only.
"""

import contextvars
import json
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

ID_FIELDS = ("run", "schedule", "target", "trace")
# Never mutated in place: every change sets a new dict, so an empty default is safe to share.
_context: contextvars.ContextVar[dict | None] = contextvars.ContextVar("log_context", default=None)

# Authorization values, our personal tokens (sat_…), key=value pairs named like secrets,
# and credentials in URLs; each keeps its label so the line still reads.
_SECRET_PATTERNS = (
    (re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 [redacted]"),
    (re.compile(r"\bsat_[A-Za-z0-9_-]{8,}"), "[redacted]"),
    (re.compile(r"(?i)\b(password|passwd|secret|token|api_key)=[^\s&'\"]+"), r"\1=[redacted]"),
    (re.compile(r"(://[^/\s:@]+:)[^@\s/]+@"), r"\1[redacted]@"),
)
# Environment variables whose values must never appear, whatever the message.
_SECRET_ENV = re.compile(r"(?i)(TOKEN|SECRET|PASSWORD|PASSWD|KEY|CREDENTIAL)")


@contextmanager
def log_context(**ids: object) -> Iterator[None]:
    """Add ids (run=…, schedule=…, target=…, trace=…) to every line logged inside."""
    token = _context.set(_with(ids))
    try:
        yield
    finally:
        _context.reset(token)


def bind(**ids: object) -> None:
    """Add ids to this context until it ends (a django-q2 task, a thread)."""
    _context.set(_with(ids))


def _with(ids: dict) -> dict:
    return {**(_context.get() or {}), **{k: v for k, v in ids.items() if v is not None}}


def clear() -> None:
    _context.set({})


class ContextFilter(logging.Filter):
    """Put the ids on the record as attributes, for any formatter to use."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = dict(_context.get() or {})
        subject = _subject_of(record)
        if subject:
            ids.setdefault(*subject)
        for name, value in ids.items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


def _subject_of(record: logging.LogRecord) -> tuple[str, object] | None:
    # "run %s: …" and "schedule %s: …" are how the engine and bridge start such lines.
    if isinstance(record.msg, str) and record.args and isinstance(record.args, tuple):
        for name in ("run", "schedule"):
            if record.msg.startswith(f"{name} %s"):
                return name, record.args[0]
    return None


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, ids, process, exception."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.secret_values = sorted(
            (v for k, v in os.environ.items() if _SECRET_ENV.search(k) and len(v) >= 6),
            key=len,
            reverse=True,
        )

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self.redact(record.getMessage()),
            "process": record.process,
        }
        for name in ID_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value if isinstance(value, int | float) else str(value)
        if record.exc_info:
            entry["exception"] = self.redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)

    def redact(self, text: str) -> str:
        for value in self.secret_values:
            text = text.replace(value, "[redacted]")
        for pattern, replacement in _SECRET_PATTERNS:
            text = pattern.sub(replacement, text)
        return text
