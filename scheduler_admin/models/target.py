"""Agent servers that schedules point at."""

from django.db import models

from scheduler_admin.validators import InRange, validate_token_env

LOCAL_TARGET_NAME = "local"


class TargetQuerySet(models.QuerySet):
    def local(self) -> "Target":
        """The built-in in-process runtime, created by a migration."""
        target, _ = self.get_or_create(name=LOCAL_TARGET_NAME, defaults={"base_url": ""})
        return target


class Target(models.Model):
    """An agent server. The bearer token is never stored: only the name of the
    environment variable that holds it."""

    name = models.SlugField(max_length=64, unique=True)
    description = models.CharField(max_length=500, blank=True)
    base_url = models.URLField(blank=True, help_text="Empty for the built-in in-process runtime.")
    token_env = models.CharField(
        max_length=128,
        blank=True,
        validators=[validate_token_env],
        help_text="Name of the environment variable holding the bearer token.",
    )
    connect_timeout_s = models.FloatField(default=5.0, validators=[InRange("connect_timeout_s")])
    max_in_flight = models.PositiveIntegerField(
        default=32,
        validators=[InRange("max_in_flight")],
        help_text="Runs sent to this server at once; more wait queued. A stock AgentOS "
        "serves 32 background runs at a time.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TargetQuerySet.as_manager()

    class Meta:
        db_table = "agno_targets"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_local(self) -> bool:
        return not self.base_url
