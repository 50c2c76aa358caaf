"""SchedulerTools: an agno toolkit that lets an agent manage schedules.

Each tool is a plain typed method that returns a JSON string; errors come back as
JSON (``{"error": ..., "fields": {...}}``) with the validation messages, never as
exceptions. All of them call scheduler_admin.engine.operations, so an agent's
schedules pass the same validation and audit as the UI's and the API's.
"""

import json
from typing import Any

from agno.tools import Toolkit
from django.core.exceptions import ValidationError

from scheduler_admin.api.http import MAX_ID
from scheduler_admin.engine import operations
from scheduler_admin.models import Schedule, ScheduleRun
from scheduler_admin.roles import can

TOOL_NAMES = (
    "create_schedule",
    "list_schedules",
    "get_schedule",
    "enable_schedule",
    "disable_schedule",
    "delete_schedule",
    "trigger_schedule",
    "get_schedule_runs",
    "cancel_run",
    "list_pending_approvals",
    "answer_approval",
)


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def schedule_dict(schedule: Schedule) -> dict[str, Any]:
    return {
        "id": schedule.pk,
        "name": schedule.name,
        "description": schedule.description,
        "target": schedule.target.name,
        "method": schedule.method,
        "endpoint": schedule.endpoint,
        "payload": schedule.payload,
        "cron_expr": schedule.cron_expr,
        "timezone": schedule.timezone,
        "enabled": schedule.enabled,
        "next_run_at": _iso(schedule.next_run_at),
        "timeout_s": schedule.timeout_s,
        "max_retries": schedule.max_retries,
        "retry_delay_s": schedule.retry_delay_s,
        "paused_reason": schedule.paused_reason,
    }


def run_dict(run: ScheduleRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "schedule_id": run.schedule_id,
        "attempt": run.attempt,
        "trigger": run.trigger,
        "status": run.status,
        "scheduled_for": _iso(run.scheduled_for),
        "started_at": _iso(run.started_at),
        "completed_at": _iso(run.completed_at),
        "status_code": run.status_code,
        "run_id": run.run_id,
        "session_id": run.session_id,
        "error": run.error,
        "stage": run.stage,
        "answered_by": run.answered_by_name or None,
    }


def _json(value: Any) -> str:
    return json.dumps(value, default=str)


def _error(message: str, fields: dict | None = None) -> str:
    return _json({"error": message, **({"fields": fields} if fields else {})})


def _bounded_int(value: Any, name: str, low: int, high: int) -> int:
    """A tool's integer argument: agents send "10", 10.0 or "ten"; refuse what is not
    a whole number in range (ValueError with a message naming the argument)."""
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValueError(
            f"{name} must be a whole number from {low} to {high}; got {value!r}."
        ) from None
    if not low <= number <= high:
        raise ValueError(f"{name} must be from {low} to {high}; got {number}.")
    return number


def _validation_error(exc: ValidationError) -> str:
    fields = exc.message_dict if hasattr(exc, "error_dict") else {}
    lines = [f"{k}: {' '.join(v)}" for k, v in fields.items()] or exc.messages
    return _error("Invalid schedule: " + "; ".join(lines), fields)


class SchedulerTools(Toolkit):
    """Create, inspect, enable, disable, trigger and delete schedules; list and answer
    runs paused for a person."""

    def __init__(
        self,
        endpoint: str = "/agents/assistant/runs",
        method: str = "POST",
        timezone: str = "UTC",
        target: str = "local",
        user=None,
        **kwargs,
    ):
        self.default_endpoint, self.default_method = endpoint, method
        self.default_timezone, self.default_target = timezone, target
        self.user = user
        tools = [getattr(self, name) for name in TOOL_NAMES]
        super().__init__(name="scheduler_tools", tools=tools, **kwargs)

    def _denied(self, action: str) -> str | None:
        """With a user, the tools act with that user's role; without one, as the
        system (like schedules registered in code)."""
        if self.user is not None and not can(self.user, action):
            return _error(f"Your role does not allow: {action}.")
        return None

    def _find(self, schedule: str) -> Schedule | None:
        schedule = str(schedule)
        if "\x00" in schedule:  # PostgreSQL cannot even compare it: no such name
            return None
        query = Schedule.objects.select_related("target")
        found = query.filter(name=schedule).first()
        if found is None and schedule.isascii() and schedule.isdigit():
            if int(schedule) <= MAX_ID:
                found = query.filter(pk=int(schedule)).first()
        return found

    def _not_found(self, schedule: str) -> str:
        return _error(f"No schedule named {schedule!r}; list_schedules shows the names.")

    def create_schedule(
        self,
        name: str,
        cron_expr: str,
        message: str = "",
        endpoint: str = "",
        method: str = "",
        timezone: str = "",
        payload_json: str = "",
        description: str = "",
        timeout_s: int = 3600,
        max_retries: int = 0,
        retry_delay_s: int = 60,
    ) -> str:
        """Create a schedule that calls an agent server endpoint on a cron expression.

        Args:
            name: Unique name: letters, digits, spaces, dots, dashes and underscores.
            cron_expr: Five-field cron expression, e.g. "0 9 * * 1-5" (09:00 on weekdays).
            message: The message sent to the agent or workflow (needed by /runs endpoints).
            endpoint: Path such as /agents/my-agent/runs; empty for the toolkit's default.
            method: HTTP method (GET, POST, PUT, PATCH, DELETE); empty for the default.
            timezone: IANA timezone such as Europe/Berlin; empty for the default.
            payload_json: Extra payload fields as a JSON object (optional).
            description: What the schedule is for (optional).
            timeout_s: Seconds before a run counts as timed out (1..86400).
            max_retries: Retries after a failure (0..10).
            retry_delay_s: Seconds before the first retry (1..3600).

        Returns:
            The created schedule as JSON, or {"error": ..., "fields": ...}.
        """
        if denied := self._denied("create"):
            return denied
        from scheduler_admin.validators import (
            parse_payload,
            validate_payload,
            validate_run_message,
        )

        try:
            if isinstance(payload_json, dict):
                validate_payload(payload_json)
                payload = payload_json
            else:
                payload = parse_payload(str(payload_json or ""))
        except ValidationError as exc:
            return _error(
                "Invalid payload_json: " + " ".join(exc.messages), {"payload": exc.messages}
            )
        if message:
            payload = {"message": message, **payload}
        data = {
            "name": name,
            "description": description,
            "target": self.default_target,
            "endpoint": endpoint or self.default_endpoint,
            "method": (method or self.default_method).upper(),
            "payload": payload,
            "cron_expr": cron_expr,
            "timezone": timezone or self.default_timezone,
            "timeout_s": timeout_s,
            "max_retries": max_retries,
            "retry_delay_s": retry_delay_s,
        }
        try:
            validate_run_message(data["endpoint"], data["method"], payload)
            schedule = operations.create_schedule(data, user=self.user)
        except ValidationError as exc:
            return _validation_error(exc)
        return _json(schedule_dict(schedule))

    def list_schedules(self, enabled_only: bool = False, limit: int = 50) -> str:
        """List schedules by name.

        Args:
            enabled_only: Only schedules that are enabled.
            limit: At most this many schedules (1..200).

        Returns:
            {"data": [schedule, ...], "count": n} as JSON.
        """
        if denied := self._denied("view"):
            return denied
        try:
            limit = _bounded_int(limit, "limit", 1, 200)
        except ValueError as exc:
            return _error(str(exc), {"limit": [str(exc)]})
        query = Schedule.objects.select_related("target").order_by("name", "pk")
        if enabled_only:
            query = query.filter(enabled=True)
        rows = [schedule_dict(s) for s in query[:limit]]
        return _json({"data": rows, "count": len(rows)})

    def get_schedule(self, schedule: str) -> str:
        """Get one schedule.

        Args:
            schedule: The schedule's name (or numeric id).

        Returns:
            The schedule as JSON, or {"error": ...}.
        """
        if denied := self._denied("view"):
            return denied
        found = self._find(schedule)
        return _json(schedule_dict(found)) if found else self._not_found(schedule)

    def enable_schedule(self, schedule: str) -> str:
        """Enable a schedule (clearing any automatic pause) so it fires again.

        Args:
            schedule: The schedule's name (or numeric id).

        Returns:
            The schedule as JSON, or {"error": ...}.
        """
        if denied := self._denied("enable"):
            return denied
        found = self._find(schedule)
        if found is None:
            return self._not_found(schedule)
        operations.set_enabled(found, True, user=self.user)
        return _json(schedule_dict(found))

    def disable_schedule(self, schedule: str, reason: str = "") -> str:
        """Disable a schedule: it stops firing until enabled again.

        Args:
            schedule: The schedule's name (or numeric id).
            reason: Why (optional; shown to operators).

        Returns:
            The schedule as JSON, or {"error": ...}.
        """
        if denied := self._denied("disable"):
            return denied
        found = self._find(schedule)
        if found is None:
            return self._not_found(schedule)
        try:
            operations.set_enabled(found, False, user=self.user, reason=str(reason))
        except ValidationError as exc:
            return _validation_error(exc)
        return _json(schedule_dict(found))

    def delete_schedule(self, schedule: str) -> str:
        """Delete a schedule and its run history.

        Args:
            schedule: The schedule's name (or numeric id).

        Returns:
            {"deleted": name} as JSON, or {"error": ...}.
        """
        if denied := self._denied("delete"):
            return denied
        found = self._find(schedule)
        if found is None:
            return self._not_found(schedule)
        name = found.name
        operations.delete_schedule(found, user=self.user)
        return _json({"deleted": name})

    def trigger_schedule(self, schedule: str) -> str:
        """Run a schedule now, outside its cron times.

        Args:
            schedule: The schedule's name (or numeric id).

        Returns:
            The queued run as JSON, or {"error": ...} (e.g. the schedule is disabled).
        """
        if denied := self._denied("trigger"):
            return denied
        found = self._find(schedule)
        if found is None:
            return self._not_found(schedule)
        try:
            run = operations.trigger_now(found, user=self.user)
        except operations.ScheduleDisabled as exc:
            return _error(str(exc))
        run.refresh_from_db()
        return _json(run_dict(run))

    def cancel_run(self, run: str) -> str:
        """Cancel a run that is queued, waiting for a retry, held, or running (a running
        run on an agent server is cancelled there).

        Args:
            run: The run's numeric id.

        Returns:
            The run as JSON (status "cancelled", or still "running" while the server is
            told), or {"error": ...}.
        """
        from scheduler_admin.engine.cancel import RunNotCancellable, cancel_run

        if denied := self._denied("cancel"):
            return denied
        pk = str(run).strip()
        found = ScheduleRun.objects.filter(pk=int(pk)).first() if pk.isdigit() else None
        if found is None or len(pk) > 18:
            return _error(f"No run with id {str(run)[:40]!r}.")
        try:
            cancelled = cancel_run(found, user=self.user)
        except RunNotCancellable as exc:
            return _error(str(exc))
        return _json(run_dict(cancelled))

    def get_schedule_runs(self, schedule: str, limit: int = 10) -> str:
        """The schedule's most recent runs, newest first.

        Args:
            schedule: The schedule's name (or numeric id).
            limit: At most this many runs (1..100).

        Returns:
            {"data": [run, ...], "count": n} as JSON, or {"error": ...}.
        """
        if denied := self._denied("view"):
            return denied
        found = self._find(schedule)
        if found is None:
            return self._not_found(schedule)
        try:
            limit = _bounded_int(limit, "limit", 1, 100)
        except ValueError as exc:
            return _error(str(exc), {"limit": [str(exc)]})
        runs = found.runs.order_by("-pk")[:limit]
        rows = [run_dict(r) for r in runs]
        return _json({"data": rows, "count": len(rows)})

    def list_pending_approvals(self, limit: int = 20) -> str:
        """Runs paused for a person's answer, oldest first, with what each asks.

        Args:
            limit: At most this many (1..100).

        Returns:
            {"data": [{"run_id", "schedule_name", "paused_at", "questions": [...]}, ...],
            "count": n} as JSON, or {"error": ...}.
        """
        from scheduler_admin.api.serializers import to_approval

        if denied := self._denied("view"):
            return denied
        try:
            limit = _bounded_int(limit, "limit", 1, 100)
        except ValueError as exc:
            return _error(str(exc), {"limit": [str(exc)]})
        runs = ScheduleRun.objects.awaiting_answer().select_related("schedule__target")[:limit]
        rows = [to_approval(run) for run in runs]
        return _json({"data": rows, "count": len(rows)})

    def answer_approval(
        self, run: str, decision: str, note: str = "", values: dict | None = None
    ) -> str:
        """Answer a run paused for a person: approve or reject, with the input it asks
        for. The agent server continues the run; one answer wins.

        Args:
            run: The run's numeric id (list_pending_approvals shows them).
            decision: "approve" or "reject".
            note: Optional note (sent with a rejection).
            values: The requested input by field name, when the run asks for input.

        Returns:
            The run as JSON, or {"error": ..., "fields": {...}}.
        """
        from scheduler_admin.engine import approvals

        if denied := self._denied("answer"):
            return denied
        pk = str(run).strip()
        found = ScheduleRun.objects.filter(pk=int(pk)).first() if pk.isdigit() else None
        if found is None or len(pk) > 18:
            return _error(f"No run with id {str(run)[:40]!r}.")
        if values is not None and not isinstance(values, dict):
            return _error("values must be an object", {"values": ["An object by field name."]})
        try:
            answered = approvals.answer(
                found, user=self.user, decision=str(decision), note=str(note), values=values
            )
        except approvals.AnswerError as exc:
            return _error(str(exc), {k: [v] for k, v in exc.errors.items()} or None)
        return _json(run_dict(answered))
