"""Validation shared by the model, forms, API, agent tools and code-registered schedules.

Every message names what is wrong and what would be valid.
"""

import difflib
import json
import re
import zoneinfo
from datetime import UTC, datetime
from functools import cache

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

from scheduler_admin import cron

NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9 ._-]*$")

# Ranges as AgentOS enforces them, plus our own fields.
LIMITS = {
    "timeout_s": (1, 86400),
    "max_retries": (0, 10),
    "retry_delay_s": (1, 3600),
    "retry_backoff": (1, 10),
    "pause_after_failures": (1, 1000),
    "connect_timeout_s": (0.1, 60),
    "max_in_flight": (1, 100000),
}


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_name(value: str) -> None:
    if not NAME_RE.match(value or ""):
        raise ValidationError(
            "Use letters, digits, spaces, dots, dashes and underscores, "
            "starting with a letter or digit.",
            code="invalid_name",
        )


def validate_cron(value: str) -> None:
    fields = (value or "").split()
    if len(fields) != 5:
        hint = " (seconds are not supported)" if len(fields) == 6 else ""
        raise ValidationError(
            f"A cron expression has 5 fields (minute hour day-of-month month day-of-week); "
            f"this one has {len(fields)}{hint}.",
            code="invalid_cron",
        )
    try:
        cron.next_fire_time(" ".join(fields), "UTC", datetime.now(UTC))
    except cron.CronSimError as exc:
        raise ValidationError(cron.describe_error(value, exc), code="invalid_cron") from None
    except StopIteration:
        raise ValidationError("This cron expression never fires.", code="invalid_cron") from None


@cache
def _timezones_by_lower() -> dict[str, str]:
    return {name.lower(): name for name in _timezones()}


def canonical_timezone(value: str) -> str:
    """The IANA name ``value`` means whatever its case ("europe/berlin" ->
    "Europe/Berlin"); ``value`` itself when no name matches."""
    value = (value or "").strip()
    return _timezones_by_lower().get(value.lower(), value)


def validate_timezone(value: str) -> None:
    if value not in _timezones():
        close = difflib.get_close_matches(
            (value or "").lower(), _timezones_by_lower().keys(), n=3, cutoff=0.7
        )
        names = [_timezones_by_lower()[c] for c in close]
        hint = (
            "did you mean "
            + ", ".join(names[:-1])
            + (" or " if len(names) > 1 else "")
            + names[-1]
            + "?"
            if names
            else "use an IANA name such as UTC, Europe/Berlin or America/New_York."
        )
        raise ValidationError(f"Unknown timezone {value!r}: {hint}", code="invalid_timezone")


def validate_endpoint(value: str) -> None:
    value = value or ""
    if "://" in value or value.startswith("//"):
        raise ValidationError(
            "Give a path such as /agents/my-agent/runs, not a full URL: the server is "
            "chosen by the target.",
            code="endpoint_is_url",
        )
    if not value.startswith("/"):
        raise ValidationError(
            "The endpoint must be a path starting with /, such as /workflows/digest/runs.",
            code="invalid_endpoint",
        )
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        raise ValidationError(
            "The endpoint must not contain spaces or control characters.",
            code="invalid_endpoint",
        )


def validate_payload(value: object) -> None:
    if not isinstance(value, dict):
        raise ValidationError(
            'The payload must be a JSON object, such as {"message": "Daily digest"}.',
            code="invalid_payload",
        )


def parse_payload(text: str) -> dict:
    """Parse payload text from a form or tool; raise a readable ValidationError."""
    if not (text or "").strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"The payload is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.",
            code="invalid_json",
        ) from None
    validate_payload(value)
    return value


@deconstructible
class InRange:
    """Both bounds in one message: 'Must be between 1 and 86400; got 0.'"""

    def __init__(self, field: str):
        self.field = field

    def __call__(self, value: float | None) -> None:
        low, high = LIMITS[self.field]
        if value is not None and not (low <= value <= high):
            raise ValidationError(
                f"Must be between {low} and {high}; got {value}.", code="out_of_range"
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, InRange) and other.field == self.field


def validate_fires_in_zone(cron_expr: str, tz_name: str) -> None:
    """A valid expression can still never fire in a zone (its times all fall in DST
    gaps, which wildcard jobs skip)."""
    try:
        cron.next_fire_time(cron_expr, tz_name, datetime.now(UTC))
    except StopIteration:
        raise ValidationError(
            {"cron_expr": f"This cron expression never fires in {tz_name}."},
            code="never_fires",
        ) from None


TOKEN_ENV_RE = re.compile(r"^AGENTOS_[A-Z0-9_]{1,120}$")


def validate_token_env(value: str) -> None:
    """Only variables named AGENTOS_… can be a target's token: an admin must not be
    able to send SECRET_KEY or DATABASE_URL to a server of their choosing."""
    if value and not TOKEN_ENV_RE.match(value):
        raise ValidationError(
            "Name an environment variable that starts with AGENTOS_ and uses capital "
            "letters, digits and underscores, such as AGENTOS_PROD_TOKEN.",
            code="invalid_token_env",
        )


def validate_run_payload(endpoint: str, method: str, payload: dict) -> None:
    """AgentOS's rule: a POST to a /runs endpoint needs a message."""
    if method == "POST" and endpoint.rstrip("/").endswith("/runs"):
        if not isinstance(payload, dict) or not str(payload.get("message", "")).strip():
            raise ValidationError(
                {"payload": 'A /runs endpoint needs a "message" in the payload.'},
                code="missing_message",
            )
