"""Delete history older than RUN_RETENTION_DAYS now: ``manage.py prune_history``.

The scheduler does the same a few batches at a time; this runs every batch until done.
"""

from django.core.management.base import BaseCommand
from django.utils import timezone

from scheduler_admin.engine.retention import prune


class Command(BaseCommand):
    help = "Delete runs, traces, audit and django-q2 rows older than RUN_RETENTION_DAYS."

    def handle(self, *args, **options) -> None:
        pruned = prune(timezone.now())
        self.stdout.write(
            f"pruned {pruned.runs} runs, {pruned.traces} traces, {pruned.spans} spans, "
            f"{pruned.audit_entries} audit entries, {pruned.tasks} django-q2 tasks"
        )
