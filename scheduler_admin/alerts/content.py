"""What a notification says. ``payload()`` is the documented webhook body (docs/alerts.md)
and is stored in the outbox row, so a notification sent after a restart says exactly
what it said when it was made; Slack, email and Apprise texts are rendered from it.

Run errors were redacted by the bridge when stored; they are redacted again here for
the target's token (it may have changed since) and capped. No token ever goes out.
"""

from datetime import datetime

from django.urls import reverse
from django.utils import timezone

from agentos_bridge.client import redact
from agentos_bridge.outcome import TargetInfo
from scheduler_admin.alerts.config import option
from scheduler_admin.models import ScheduleRun, Trace
from scheduler_admin.models.alerts import Incident

ERROR_MAX = 1000


def link(name: str, *args) -> str:
    return option("CONSOLE_URL").rstrip("/") + reverse(name, args=args)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def payload(incident: Incident, event: str, now: datetime | None = None) -> dict:
    """The body every channel renders: ``{"type", "timestamp", "data"}`` (the Standard
    Webhooks shape)."""
    schedule, target, run = incident.schedule, incident.target, incident.last_run
    return {
        "type": f"incident.{event}",
        "timestamp": _iso(now or timezone.now()),
        "data": {
            "incident": {
                "id": incident.pk,
                "kind": incident.kind,
                "status": incident.status,
                "title": incident.title,
                "summary": incident.summary,
                "count": incident.count,
                "affected_schedules": incident.affected_schedules,
                "opened_at": _iso(incident.opened_at),
                "resolved_at": _iso(incident.resolved_at),
                "resolution": incident.resolution,
                "url": link("incident_detail", incident.pk),
            },
            "schedule": _schedule(schedule) if schedule else None,
            "target": {"id": target.pk, "name": target.name} if target else None,
            "run": _run(run) if run else None,
        },
    }


def test_payload(channel_name: str, now: datetime | None = None) -> dict:
    return {
        "type": "test",
        "timestamp": _iso(now or timezone.now()),
        "data": {
            "incident": None,
            "schedule": None,
            "target": None,
            "run": None,
            "message": f"Test message for channel {channel_name}: alerts reach you here.",
        },
    }


def _schedule(schedule) -> dict:
    return {
        "id": schedule.pk,
        "name": schedule.name,
        "consecutive_failures": schedule.consecutive_failures,
        "url": link("schedule_detail", schedule.pk),
    }


def _run(run: ScheduleRun) -> dict:
    trace = Trace.objects.filter(schedule_run=run).only("trace_id").first()
    error = redact(run.error, TargetInfo.of(run.schedule.target))[:ERROR_MAX]
    return {
        "id": run.pk,
        "attempt": run.attempt,
        "attempts_allowed": run.schedule.max_retries + 1,
        "scheduled_for": _iso(run.scheduled_for),
        "status": run.status,
        "status_code": run.status_code,
        "error": error,
        "duration_ms": run.duration_ms,
        "agent_run_id": run.run_id,
        "url": link("run_detail", run.pk),
        "trace_url": link("trace_detail", trace.trace_id) if trace else None,
        # The run page carries the Retry button and "retry with an edited payload".
        "retry_url": link("run_detail", run.pk),
    }


def headline(body: dict) -> str:
    """One line: "[OPEN] schedule failing: nightly-digest" or the test message."""
    incident = body["data"]["incident"]
    if incident is None:
        return body["data"].get("message", "Test")
    state = {"incident.opened": "OPEN", "incident.resolved": "RESOLVED"}.get(
        body["type"], "STILL OPEN"
    )
    return f"[{state}] {incident['title']}"


def lines(body: dict) -> list[str]:
    """The facts an on-call person needs, as plain text lines."""
    data = body["data"]
    incident, schedule, run = data["incident"], data["schedule"], data["run"]
    if incident is None:
        return [data.get("message", "")]
    out = [incident["summary"]] if incident["summary"] else []
    if body["type"] == "incident.resolved" and incident["resolution"]:
        out.append(f"Resolved: {incident['resolution']}")
    if schedule:
        out.append(f"Schedule: {schedule['name']} ({schedule['url']})")
    if data["target"]:
        out.append(f"Agent server: {data['target']['name']}")
    if incident["count"] > 1:
        out.append(f"Occurrences: {incident['count']}")
    if run:
        out.append(f"Scheduled for: {run['scheduled_for']}")
        out.append(f"Attempt: {run['attempt']} of {run['attempts_allowed']}")
        if run["duration_ms"] is not None:
            out.append(f"Duration: {run['duration_ms']} ms")
        if run["error"] and body["type"] != "incident.resolved":
            out.append(f"Error: {run['error']}")
        out.append(f"Run: {run['url']}")
        if run["trace_url"]:
            out.append(f"Trace: {run['trace_url']}")
        if body["type"] != "incident.resolved":
            out.append(f"Retry: {run['retry_url']}")
    out.append(f"Incident: {incident['url']}")
    return out


def text(body: dict) -> str:
    return "\n".join(lines(body))


def slack(body: dict) -> dict:
    """A Slack incoming-webhook message: a headline and the facts, links clickable."""
    title = headline(body)
    facts = "\n".join(_slack_line(line) for line in lines(body))
    return {
        "text": title,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": facts[:2900]}},
        ],
    }


def _slack_line(line: str) -> str:
    label, sep, value = line.partition(": ")
    if sep and value.startswith("http"):
        return f"*{label}*: <{value}|open>"
    # Slack reads &, < and > as markup: escape them in text we did not write.
    safe = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"*{label}*: {safe}" if sep else safe
