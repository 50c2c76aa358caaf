"""Files a run produced (audio, images, documents), kept through Django's storage API.

The storage is ``STORAGES["artifacts"]`` (a folder under var/ unless configured), so a
project can put artifacts on any Django storage. Rows belong to their run: deleting a run
(retention) deletes its artifacts, and deleting an artifact row deletes its file.
"""

from django.core.files.storage import storages
from django.db import models
from django.db.models.signals import post_delete
from django.dispatch import receiver


def artifact_storage():
    return storages["artifacts"]


def artifact_path(artifact: "Artifact", filename: str) -> str:
    return f"runs/{artifact.run_id}/{filename}"


class Artifact(models.Model):
    run = models.ForeignKey(
        "scheduler_admin.ScheduleRun", on_delete=models.CASCADE, related_name="artifacts"
    )
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=128)
    size_bytes = models.PositiveBigIntegerField()
    file = models.FileField(upload_to=artifact_path, storage=artifact_storage, max_length=512)
    source = models.CharField(max_length=16, default="local")  # local | remote
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["run", "name"], name="artifact_unique_in_run"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def media_kind(self) -> str:
        """How the run page shows it: ``audio``, ``image`` or ``file`` (download only).
        SVG is a document that can carry script: never shown inline."""
        major = self.content_type.split("/")[0]
        if major == "audio":
            return "audio"
        if major == "image" and self.content_type != "image/svg+xml":
            return "image"
        return "file"


@receiver(post_delete, sender=Artifact)
def _delete_file(sender, instance: Artifact, **kwargs) -> None:
    # Also runs for rows deleted by the run's cascade (the retention path).
    if instance.file:
        instance.file.delete(save=False)
