"""Root URLs: each area owns its own URL module."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    # /healthz, /readyz, /metrics: for machines, no login.
    path("", include("scheduler_admin.ops.urls")),
    path("api/", include("scheduler_admin.api.urls")),
    # The in-process runtime, served with the AgentOS protocol (base URL: /agentos).
    path("agentos/", include("agentos_bridge.urls")),
    path("", include("scheduler_admin.views.urls")),
]
