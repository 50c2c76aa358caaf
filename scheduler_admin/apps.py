from django.apps import AppConfig
from django.conf import settings


class SchedulerAdminConfig(AppConfig):
    name = "scheduler_admin"
    verbose_name = "Scheduler"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        if settings.LOG_FORMAT == "json":
            from scheduler_admin.ops import task_logging  # noqa: F401 - connects its receiver
