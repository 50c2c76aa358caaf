"""Django admin: schedules and targets editable, runs and traces read-only."""

from django.contrib import admin

from scheduler_admin.engine.operations import (
    EDITABLE_FIELDS,
    create_schedule,
    delete_schedule,
    update_schedule,
)
from scheduler_admin.models import (
    AgentSession,
    AuditEntry,
    Schedule,
    ScheduleAlertRule,
    ScheduleRun,
    Span,
    Target,
    Trace,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    # Run history can hold millions of rows: never COUNT(*) the whole table.
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    list_display = ["name", "base_url", "token_env"]
    search_fields = ["name"]


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ["name", "cron_expr", "timezone", "endpoint", "enabled", "next_run_at"]
    list_filter = ["enabled", "target", "code_managed"]
    search_fields = ["name", "endpoint"]
    fields = [*EDITABLE_FIELDS, "paused_reason", "next_run_at", "consecutive_failures"]
    readonly_fields = ["paused_reason", "next_run_at", "consecutive_failures"]

    def save_model(self, request, obj, form, change) -> None:
        # Through the engine, like every other edit: next run time, audit entry, and
        # only the changed columns written (never the engine's own fields).
        if change:
            data = {name: getattr(obj, name) for name in form.changed_data}
            update_schedule(Schedule.objects.get(pk=obj.pk), data, user=request.user)
        else:
            data = {name: getattr(obj, name) for name in EDITABLE_FIELDS}
            obj.pk = create_schedule(data, user=request.user).pk
            obj.refresh_from_db()

    def delete_model(self, request, obj) -> None:
        delete_schedule(obj, user=request.user)


@admin.register(ScheduleRun)
class ScheduleRunAdmin(ReadOnlyAdmin):
    list_display = ["pk", "schedule", "scheduled_for", "attempt", "trigger", "status", "run_id"]
    list_filter = ["status", "trigger"]
    list_select_related = ["schedule"]
    search_fields = ["run_id", "session_id"]
    raw_id_fields = ["schedule", "retry_of"]


@admin.register(AgentSession)
class AgentSessionAdmin(ReadOnlyAdmin):
    list_display = ["session_id", "session_type", "component_id", "created_at"]
    search_fields = ["session_id"]


class SpanInline(admin.TabularInline):
    model = Span
    fields = ["name", "span_type", "status", "duration_ms", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Trace)
class TraceAdmin(ReadOnlyAdmin):
    list_display = ["trace_id", "name", "status", "run_id", "duration_ms"]
    search_fields = ["trace_id", "run_id", "session_id"]
    inlines = [SpanInline]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_name", "action", "schedule_name"]
    list_filter = ["action"]


@admin.register(ScheduleAlertRule)
class ScheduleAlertRuleAdmin(admin.ModelAdmin):
    """Per-schedule alert overrides: threshold, mute, channels."""

    list_display = ("schedule", "failure_threshold", "muted")
    raw_id_fields = ("schedule",)
    filter_horizontal = ("channels",)
