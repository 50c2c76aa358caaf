from django.urls import path

from scheduler_admin.views import dashboard

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
]
