from scheduler_admin.models.alerts import (
    AlertChannel,
    AlertEvent,
    ChannelKind,
    DeliveryAttempt,
    Incident,
    IncidentKind,
    IncidentStatus,
    Notification,
    ScheduleAlertRule,
)
from scheduler_admin.models.artifact import Artifact
from scheduler_admin.models.audit import AuditAction, AuditEntry
from scheduler_admin.models.heartbeat import Heartbeat
from scheduler_admin.models.idempotency import IdempotencyKey
from scheduler_admin.models.observability import AgentSession, Span, Trace
from scheduler_admin.models.retention import PruneLog
from scheduler_admin.models.run import ImportStatus, RunStage, RunStatus, ScheduleRun, Trigger
from scheduler_admin.models.schedule import (
    CatchUpPolicy,
    HttpMethod,
    OverlapPolicy,
    PauseTimeoutAction,
    Schedule,
)
from scheduler_admin.models.target import LOCAL_TARGET_NAME, Target
from scheduler_admin.models.token import ApiToken

__all__ = [
    "AlertChannel",
    "AlertEvent",
    "ChannelKind",
    "DeliveryAttempt",
    "Incident",
    "IncidentKind",
    "IncidentStatus",
    "Notification",
    "ScheduleAlertRule",
    "ApiToken",
    "Artifact",
    "AuditAction",
    "AuditEntry",
    "AgentSession",
    "CatchUpPolicy",
    "Heartbeat",
    "HttpMethod",
    "IdempotencyKey",
    "LOCAL_TARGET_NAME",
    "OverlapPolicy",
    "PauseTimeoutAction",
    "ImportStatus",
    "RunStage",
    "PruneLog",
    "RunStatus",
    "Schedule",
    "ScheduleRun",
    "Span",
    "Target",
    "Trace",
    "Trigger",
]
