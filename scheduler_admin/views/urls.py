from django.urls import path

# run_id, session_id and trace_id are chosen by agent servers: <path:> takes any text,
# "/" included, so every id links and resolves.
from scheduler_admin.views import (
    audit,
    dashboard,
    run_actions,
    runs,
    schedule_detail,
    schedule_form,
    schedule_list,
    sessions,
    targets,
    traces,
)

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("schedules/", schedule_list.schedule_list, name="schedule_list"),
    path("schedules/bulk/", schedule_list.schedule_bulk, name="schedule_bulk"),
    path("schedules/new/", schedule_form.schedule_create, name="schedule_create"),
    path("schedules/preview/", schedule_form.schedule_preview, name="schedule_preview"),
    path(
        "schedules/payload-check/",
        schedule_form.schedule_payload_check,
        name="schedule_payload_check",
    ),
    path("schedules/<int:pk>/", schedule_detail.schedule_detail, name="schedule_detail"),
    path("schedules/<int:pk>/edit/", schedule_form.schedule_edit, name="schedule_edit"),
    path("schedules/<int:pk>/delete/", schedule_detail.schedule_delete, name="schedule_delete"),
    path("schedules/<int:pk>/enable/", schedule_detail.schedule_enable, name="schedule_enable"),
    path("schedules/<int:pk>/disable/", schedule_detail.schedule_disable, name="schedule_disable"),
    path("schedules/<int:pk>/pause/", schedule_detail.schedule_pause, name="schedule_pause"),
    path("schedules/<int:pk>/trigger/", schedule_detail.schedule_trigger, name="schedule_trigger"),
    path("runs/", runs.run_list, name="run_list"),
    path("runs/bulk-retry/", run_actions.run_bulk_retry, name="run_bulk_retry"),
    path("runs/by-run-id/<path:run_id>/", runs.run_by_run_id, name="run_by_run_id"),
    path("runs/<int:pk>/", runs.run_detail, name="run_detail"),
    path("runs/<int:pk>/attempts/", runs.run_attempts, name="run_attempts"),
    path("runs/<int:pk>/retry/", run_actions.run_retry, name="run_retry"),
    path("traces/<path:trace_id>/", traces.trace_detail, name="trace_detail"),
    path("sessions/<path:session_id>/", sessions.session_detail, name="session_detail"),
    path("targets/", targets.target_list, name="target_list"),
    path("targets/new/", targets.target_create, name="target_create"),
    path("targets/<int:pk>/edit/", targets.target_edit, name="target_edit"),
    path("targets/<int:pk>/test/", targets.target_test, name="target_test"),
    path("audit/", audit.audit_list, name="audit_list"),
]
