"""Copy schedules from an AgentOS's own scheduler (its /schedules API) into ours, by name.

Every write goes through engine.operations, so imported schedules pass the same
validation as the form. A dry run does the same writes inside a transaction that is
rolled back, so it reports exactly what --apply would do, invalid schedules included.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from agentos_bridge import client
from agentos_bridge.outcome import TargetInfo
from scheduler_admin.api.http import ApiError
from scheduler_admin.api.serializers import schedule_input
from scheduler_admin.engine import operations
from scheduler_admin.models import Schedule, Target

PAGE_SIZE = 100
MAX_PAGES = 1000  # a safety stop against a server that never ends its pages
READ_TIMEOUT_S = 30.0

# The ScheduleResponse fields we copy, in AgentOS's names, with AgentOS's defaults for
# any it leaves out or sends as null (ids and times are the AgentOS's own, not copied).
AGENTOS_DEFAULTS = {
    "name": "",
    "description": None,  # null: none (schedule_input reads it as "")
    "payload": None,  # null: none ({})
    "method": "POST",
    "endpoint": "",
    "cron_expr": "",
    "timezone": "UTC",
    "timeout_seconds": 3600,
    "max_retries": 0,
    "retry_delay_seconds": 60,
    "enabled": True,
}


class ImportFailed(Exception):
    """The AgentOS could not be read."""


@dataclass
class ImportLine:
    action: str  # create | update | unchanged | invalid | skipped
    name: str
    detail: str = ""


def fetch_schedules(target: Target) -> list[dict]:
    """Every schedule of the target's AgentOS, page by page, through the bridge's client
    (its session, timeouts, token handling and readable errors)."""
    info = TargetInfo.of(target)
    schedules, page = [], 1
    while page <= MAX_PAGES:
        try:
            response = client.send(
                info,
                "GET",
                "/schedules",
                idempotency_key=f"import-schedules-{page}",
                read_timeout_s=READ_TIMEOUT_S,
                params={"page": page, "limit": PAGE_SIZE},
            )
            client.check_status(response, "GET /schedules")
        except client.CallError as exc:
            raise ImportFailed(str(client.redact(str(exc), info))) from None
        try:
            body = response.json()
            data, total_pages = body["data"], int(body["meta"].get("total_pages") or 0)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ImportFailed("GET /schedules did not answer with a schedule list.") from None
        schedules.extend(data)
        if not data or page >= total_pages:
            return schedules
        page += 1
    return schedules


def to_schedule_data(item: dict, target: Target) -> dict:
    """An AgentOS ScheduleResponse as our engine's fields, aimed at ``target``.

    Names and JSON types are read as /api/schedules reads a request body (one mapping,
    serializers.schedule_input); a field AgentOS left out or null takes its default
    there. ApiError (422) when a field has the wrong JSON type.
    """
    given = {key: item[key] for key in AGENTOS_DEFAULTS if item.get(key) is not None}
    return {**schedule_input({**AGENTOS_DEFAULTS, **given}), "target": target}


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


def _import_one(item, target: Target, user) -> ImportLine:
    if not isinstance(item, dict):
        return ImportLine("invalid", "?", f"not a schedule object: {str(item)[:80]}")
    try:
        data = to_schedule_data(item, target)
    except ApiError as exc:
        problems = "; ".join(f"{p['loc'][-1]}: {p['msg']}" for p in exc.detail)
        return ImportLine("invalid", str(item.get("name") or ""), problems)
    name = data["name"]
    if not data["cron_expr"]:
        return ImportLine("skipped", name, "on-demand (no cron expression): nothing to schedule")
    existing = Schedule.objects.filter(name=name).first()
    try:
        with transaction.atomic():
            if existing is None:
                operations.create_schedule(data, user=user)
                return ImportLine("create", name, f"{data['cron_expr']} {data['timezone']}")
            changes = operations.update_schedule(existing, data, user=user)
    except ValidationError as exc:
        return ImportLine("invalid", name, _messages(exc))
    if not changes:
        return ImportLine("unchanged", name)
    detail = ", ".join(f"{key}: {old!r} -> {new!r}" for key, (old, new) in changes.items())
    return ImportLine("update", name, detail)


def import_schedules(target: Target, *, apply: bool, user=None) -> list[ImportLine]:
    """Create or update ours by name; without ``apply`` nothing is kept."""
    items = fetch_schedules(target)
    with transaction.atomic():
        lines = [_import_one(item, target, user) for item in items]
        if not apply:
            transaction.set_rollback(True)
    return lines
