"""Which failures count, and who hears about an incident. Pure decisions, no writes."""

from scheduler_admin.models import Schedule, ScheduleRun
from scheduler_admin.models.alerts import AlertChannel, Incident, ScheduleAlertRule

# How the bridge words a failure to reach the agent server at all (agentos_bridge/
# client.py); such a failure is the server's problem, not the schedule's.
_UNREACHABLE_PREFIXES = (
    "Connect timeout:",
    "DNS failure",
    "Connection refused",
    "Connection closed by the server",
    "Connection error",
)
# A gateway in front of the agent server answering for it.
_UNREACHABLE_STATUS = (502, 503, 504)


def peer_unreachable(run: ScheduleRun) -> bool:
    """Whether ``run`` failed because its agent server could not be reached (the
    built-in runtime is in-process: it always is)."""
    if run.schedule.target.is_local:
        return False
    if run.status_code in _UNREACHABLE_STATUS:
        return True
    return run.error.startswith(_UNREACHABLE_PREFIXES)


def rule_for(schedule: Schedule) -> ScheduleAlertRule:
    """The schedule's overrides, or the defaults (alert on the first failed firing)."""
    try:
        return schedule.alert_rule
    except ScheduleAlertRule.DoesNotExist:
        return ScheduleAlertRule(schedule=schedule)


def channels_for(incident: Incident) -> list[AlertChannel]:
    """Enabled channels subscribed to the incident's kind, narrowed by its schedule's
    rule: a muted schedule alerts nobody; a rule with channels alerts only those."""
    channels = AlertChannel.objects.listening_to(incident.kind)
    if incident.schedule_id is None:
        return channels
    rule = rule_for(incident.schedule)
    if rule.muted:
        return []
    chosen = {c.pk for c in rule.channels.all()} if rule.pk else set()
    return [c for c in channels if c.pk in chosen] if chosen else channels
