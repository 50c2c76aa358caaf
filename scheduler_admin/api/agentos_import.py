"""Copy schedules from an AgentOS's own scheduler (its /schedules API) into ours, by name.

Every write goes through engine.operations, so imported schedules pass the same
validation as the form. A dry run does the same writes inside a transaction that is
rolled back, so it reports exactly what --apply would do, invalid schedules included.
"""

from dataclasses import dataclass

import requests
from django.core.exceptions import ValidationError
from django.db import transaction

from scheduler_admin.engine import operations
from scheduler_admin.models import Schedule, Target

PAGE_SIZE = 100
MAX_PAGES = 1000  # a safety stop against a server that never ends its pages
READ_TIMEOUT_S = 30.0


class ImportFailed(Exception):
    """The AgentOS could not be read."""


@dataclass
class ImportLine:
    action: str  # create | update | unchanged | invalid | skipped
    name: str
    detail: str = ""


def fetch_schedules(target: Target) -> list[dict]:
    """Every schedule of the target's AgentOS, page by page."""
    headers = {"Accept": "application/json"}
    if token := target.bearer_token():
        headers["Authorization"] = f"Bearer {token}"
    url = target.base_url.rstrip("/") + "/schedules"
    schedules, page = [], 1
    with requests.Session() as http:
        while page <= MAX_PAGES:
            try:
                response = http.get(
                    url,
                    params={"page": page, "limit": PAGE_SIZE},
                    headers=headers,
                    timeout=(target.connect_timeout_s, READ_TIMEOUT_S),
                )
            except requests.RequestException as exc:
                raise ImportFailed(f"Could not reach {url}: {exc}") from None
            if response.status_code != 200:
                raise ImportFailed(
                    f"GET {url} answered {response.status_code}: {response.text[:300]}"
                )
            try:
                body = response.json()
                data, meta = body["data"], body["meta"]
            except (ValueError, KeyError, TypeError):
                raise ImportFailed(f"GET {url} did not answer with a schedule list.") from None
            schedules.extend(data)
            if not data or page >= int(meta.get("total_pages") or 0):
                return schedules
            page += 1
    return schedules


def to_schedule_data(item: dict, target: Target) -> dict:
    """An AgentOS ScheduleResponse as our engine's fields, aimed at ``target``."""
    return {
        "name": item.get("name") or "",
        "description": item.get("description") or "",
        "method": (item.get("method") or "POST").upper(),
        "endpoint": item.get("endpoint") or "",
        "payload": item.get("payload") or {},
        "cron_expr": item.get("cron_expr") or "",
        "timezone": item.get("timezone") or "UTC",
        "timeout_s": item.get("timeout_seconds", 3600),
        "max_retries": item.get("max_retries", 0),
        "retry_delay_s": item.get("retry_delay_seconds", 60),
        "enabled": bool(item.get("enabled", True)),
        "target": target,
    }


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


def _import_one(data: dict, user) -> ImportLine:
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
        lines = [_import_one(to_schedule_data(item, target), user) for item in items]
        if not apply:
            transaction.set_rollback(True)
    return lines
