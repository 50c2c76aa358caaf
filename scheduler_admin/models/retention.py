"""What the retention step pruned, one row per pass that deleted something."""

from django.db import models


class PruneLog(models.Model):
    finished_at = models.DateTimeField(db_index=True)
    runs = models.PositiveIntegerField(default=0)
    traces = models.PositiveIntegerField(default=0)
    spans = models.PositiveIntegerField(default=0)
    audit_entries = models.PositiveIntegerField(default=0)
    tasks = models.PositiveIntegerField(default=0, help_text="django-q2 task rows")

    class Meta:
        db_table = "agno_prune_log"
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"pruned {self.runs} runs at {self.finished_at:%Y-%m-%d %H:%M}"
