from django.apps import AppConfig


class SchedulerAdminConfig(AppConfig):
    name = "scheduler_admin"
    verbose_name = "Scheduler"
    default_auto_field = "django.db.models.BigAutoField"
