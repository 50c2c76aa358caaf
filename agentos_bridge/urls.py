"""The in-process runtime as an AgentOS, mounted at /agentos/ by the root urls."""

from django.urls import path, re_path

from agentos_bridge import views

KIND = r"(?P<kind>agents|teams|workflows)/(?P<component_id>[^/]+)"
# Run, session and trace ids are any text the runtime (or a caller) chose, "/" included.

urlpatterns = [
    path("health", views.health, name="agentos_health"),
    path("agents", views.agent_list, name="agentos_agent_list"),
    path("teams", views.team_list, name="agentos_team_list"),
    path("workflows", views.workflow_list, name="agentos_workflow_list"),
    re_path(rf"^{KIND}/runs$", views.run_create, name="agentos_run_create"),
    re_path(rf"^{KIND}/runs/(?P<run_id>.+)$", views.run_detail, name="agentos_run_detail"),
    path("sessions/<path:session_id>", views.session_detail, name="agentos_session_detail"),
    path("traces", views.trace_list, name="agentos_trace_list"),
    path("traces/<path:trace_id>", views.trace_detail, name="agentos_trace_detail"),
]
