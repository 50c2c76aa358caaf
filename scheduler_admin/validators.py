"""Validation shared by the model, forms, API, agent tools and code-registered schedules.

Every message names what is wrong and what would be valid.
"""

import difflib
import json
import math
import re
import zoneinfo
from datetime import UTC, datetime
from functools import cache
from urllib.parse import urlsplit

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
    "pause_timeout_s": (1, 30 * 86400),
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


# Payload limits, the same in the console, the API and the agent tools: a payload is
# a message for an agent, not a document store, and a deep one would exhaust Python's
# recursion limit (json, the database adapter, the templates) long before it is useful.
PAYLOAD_MAX_BYTES = 64 * 1024
PAYLOAD_MAX_DEPTH = 32
REASON_MAX_CHARS = 500


def _payload_problem(value: object) -> str | None:
    """What is wrong inside a payload, walked without recursion; None if nothing."""
    stack = [(value, 1, "payload")]
    while stack:
        item, depth, where = stack.pop()
        if isinstance(item, dict | list):
            if depth > PAYLOAD_MAX_DEPTH:
                return f"The payload is nested deeper than {PAYLOAD_MAX_DEPTH} levels."
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str):
                        return f"Keys must be text; {where} has {key!r}."
                    if "\x00" in key:
                        return f"Text must not contain NUL (\\u0000) characters: a key in {where}."
                    stack.append((child, depth + 1, f"{where}.{key}"))
            else:
                stack.extend((child, depth + 1, f"{where}[{i}]") for i, child in enumerate(item))
        elif isinstance(item, str):
            if "\x00" in item:
                return f"Text must not contain NUL (\\u0000) characters: {where}."
        elif isinstance(item, float):
            if not math.isfinite(item):
                return f"Numbers must be finite (no NaN or Infinity): {where} is {item}."
        elif not (item is None or isinstance(item, bool | int)):
            return f"{where} is not a JSON value."
    return None


def validate_payload(value: object) -> None:
    """A JSON object that PostgreSQL and SQLite both store as given: no NUL, finite
    numbers, at most PAYLOAD_MAX_DEPTH levels and PAYLOAD_MAX_BYTES as JSON."""
    if not isinstance(value, dict):
        raise ValidationError(
            'The payload must be a JSON object, such as {"message": "Daily digest"}.',
            code="invalid_payload",
        )
    if message := _payload_problem(value):
        raise ValidationError(message, code="invalid_payload")
    size = len(json.dumps(value, ensure_ascii=False).encode())
    if size > PAYLOAD_MAX_BYTES:
        raise ValidationError(
            f"The payload is {size} bytes as JSON; the limit is {PAYLOAD_MAX_BYTES}.",
            code="payload_too_large",
        )


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def parse_payload(text: str) -> dict:
    """Parse payload text from a form or tool; raise a readable ValidationError."""
    if not (text or "").strip():
        return {}
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > PAYLOAD_MAX_BYTES:
        raise ValidationError(
            f"The payload is {size} bytes; the limit is {PAYLOAD_MAX_BYTES}.",
            code="payload_too_large",
        )
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"The payload is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.",
            code="invalid_json",
        ) from None
    except RecursionError:
        raise ValidationError(
            f"The payload is nested deeper than {PAYLOAD_MAX_DEPTH} levels.",
            code="invalid_payload",
        ) from None
    except ValueError as exc:
        msg = f"The payload is not valid JSON: {exc}."
        raise ValidationError(msg, code="invalid_json") from None
    validate_payload(value)
    return value


def validate_text(value: str) -> None:
    """Free text PostgreSQL can store (it refuses NUL; SQLite would keep it)."""
    if isinstance(value, str) and "\x00" in value:
        raise ValidationError(
            "Text must not contain NUL (\\u0000) characters.", code="null_characters_not_allowed"
        )


def validate_reason(value: str) -> None:
    """A pause reason: shown to everyone, so bounded and storable; never cut silently."""
    validate_text(value)
    if len(value) > REASON_MAX_CHARS:
        raise ValidationError(
            f"Keep the reason to {REASON_MAX_CHARS} characters; this one has {len(value)}.",
            code="max_length",
        )


def validate_run_message(endpoint: str, method: str, payload: dict) -> None:
    """A POST to a /runs endpoint needs a message. Only the agent tools ask it, as
    agno's own SchedulerTools do: AgentOS's schedule API (and so ours) accepts such a
    schedule, and the agent server refuses its runs."""
    if method == "POST" and endpoint.rstrip("/").endswith("/runs"):
        if not str(payload.get("message", "")).strip():
            raise ValidationError(
                {"payload": 'A /runs endpoint needs a "message" in the payload.'},
                code="missing_message",
            )


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


# The console's own secret for its local AgentOS endpoint (/agentos/): never sent away.
LOCAL_TOKEN_ENV = "AGENTOS_LOCAL_TOKEN"


def validate_base_url(value: str) -> None:
    """An agent server's URL: http or https, no credentials (the token variable is the
    way), and a host that is not link-local or a cloud metadata address (nor private
    or loopback with TARGETS_ALLOW_PRIVATE_NETWORKS=false). The same address rule is
    checked again at every connection (agentos_bridge.netguard)."""
    from agentos_bridge import netguard

    if not value:
        return
    try:
        parts = urlsplit(value)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValidationError("Enter a valid URL.", code="invalid") from None
    if parts.scheme not in netguard.ALLOWED_SCHEMES:
        raise ValidationError(
            f"Use an http:// or https:// URL; {parts.scheme or 'no'} scheme is not allowed.",
            code="invalid_scheme",
        )
    if parts.username is not None or parts.password is not None:
        raise ValidationError(
            "Put no user name or password in the URL: name the token's environment "
            "variable in the token field instead.",
            code="credentials_in_url",
        )
    host = parts.hostname or ""
    try:
        addresses = netguard.resolve(host, port)
    except (OSError, UnicodeError):
        addresses = []  # not resolvable now; every connection checks it again
    for address in addresses:
        if problem := netguard.address_problem(address):
            raise ValidationError(
                f"{host} cannot be an agent server: {problem}.", code="blocked_address"
            )


def validate_target_token_env(token_env: str, base_url: str) -> None:
    """A remote target must not name the console's own local-runtime token."""
    if base_url and token_env == LOCAL_TOKEN_ENV:
        raise ValidationError(
            f"{LOCAL_TOKEN_ENV} is this console's own secret and is never sent to another "
            "server: use a variable of the agent server's own, such as AGENTOS_PROD_TOKEN.",
            code="local_token_for_remote",
        )


# What a user-input field of a paused agno step may be, and how a form's text becomes it.
_INPUT_TYPES = {"str", "int", "float", "bool", "list", "dict"}


def clean_user_input(schema: list, values: dict) -> tuple[dict, dict]:
    """Check a person's answer against the ``user_input_schema`` an agent server sent:
    (the typed values, {field: what would be valid}). Form text is converted to the
    field's type; "list" and "dict" take JSON; ``allowed_values`` is enforced."""
    clean, errors = {}, {}
    for field in schema or []:
        if not isinstance(field, dict) or not field.get("name"):
            continue
        name = str(field["name"])
        kind = str(field.get("field_type") or "str")
        kind = kind if kind in _INPUT_TYPES else "str"
        raw = values.get(name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if kind == "bool":
                clean[name] = False
            elif field.get("required", True):
                errors[name] = "This field is required."
            continue
        try:
            value = _typed(raw, kind)
        except (TypeError, ValueError):
            errors[name] = f"Enter a valid {_TYPE_WORDS[kind]}."
            continue
        allowed = field.get("allowed_values")
        if allowed and value not in allowed:
            errors[name] = "Choose one of: " + ", ".join(str(a) for a in allowed) + "."
            continue
        clean[name] = value
    return clean, errors


_TYPE_WORDS = {
    "str": "text",
    "int": "whole number",
    "float": "number",
    "bool": "yes or no",
    "list": "JSON list",
    "dict": "JSON object",
}


def _typed(raw, kind: str):
    if kind == "str":
        return str(raw)
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("true", "on", "yes", "1"):
            return True
        if text in ("false", "off", "no", "0"):
            return False
        raise ValueError(raw)
    if kind == "int":
        if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
            raise ValueError(raw)
        return int(str(raw).strip()) if isinstance(raw, str) else int(raw)
    if kind == "float":
        if isinstance(raw, bool):
            raise ValueError(raw)
        value = float(raw)
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(raw)
        return value
    value = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(value, list if kind == "list" else dict):
        raise ValueError(raw)
    return value
