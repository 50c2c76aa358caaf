"""Heartbeats: long-running processes (the scheduler, later the run follower) say they are
alive by updating one row per process kind, so /readyz and /metrics on any web server,
on any machine, see them."""

from django.db import models


class Heartbeat(models.Model):
    """The latest beat of a kind of process ("scheduler").

    One row per kind, not per process: readiness asks "did *a* scheduler tick lately",
    and several schedulers updating one row never leave stale rows behind after restarts.
    """

    name = models.CharField(max_length=32, primary_key=True)
    beat_at = models.DateTimeField()
    # Since the previous stored beat: how many loop passes and the slowest one.
    passes = models.PositiveIntegerField(default=0)
    max_pass_ms = models.PositiveIntegerField(default=0)
    last_pass_ms = models.PositiveIntegerField(default=0)
    process = models.CharField(max_length=160, blank=True, help_text="host:pid of the beater.")

    class Meta:
        db_table = "agno_heartbeats"

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
