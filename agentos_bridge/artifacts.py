"""Media of a run's output (audio, images, videos, files) stored as Artifact rows.

agno puts media on a run output as lists of objects with a ``mime_type`` and either
``content`` (base64 in JSON) or a ``url``; AgentOS serves them so in ``GET …/runs/{id}``.
The local runtime and the remote importer hand that body here. Only inline content is
stored; a URL is left where it is (fetching arbitrary URLs from a worker is a door we
keep closed). Storing twice is harmless: an artifact's name is unique in its run.
"""

import base64
import binascii
import logging
import mimetypes
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError

log = logging.getLogger(__name__)

MEDIA_KEYS = ("audio", "images", "videos", "files")
MAX_ARTIFACT_BYTES = 50 * 1024 * 1024
MAX_ARTIFACTS_PER_RUN = 20
DEFAULT_TYPES = {
    "audio": "audio/wav",
    "images": "image/png",
    "videos": "video/mp4",
    "files": "application/octet-stream",
}


def store_media(run_pk: int | None, body: Any, *, source: str) -> int:
    """Store the media of a run body for the schedule run ``run_pk``; return how many
    were stored. Never raises: a broken medium is logged and skipped."""
    from scheduler_admin.models import ScheduleRun

    if not run_pk or not isinstance(body, dict):
        return 0
    run = ScheduleRun.objects.filter(pk=run_pk).only("pk").first()
    if run is None:
        return 0
    stored = 0
    for key, index, item in _media(body):
        if stored >= MAX_ARTIFACTS_PER_RUN:
            log.warning("run %s: more than %s media, the rest not stored", run_pk, stored)
            break
        try:
            stored += _store_one(run, key, index, item, source)
        except Exception:  # noqa: BLE001 - one bad medium never fails the run
            log.exception("run %s: %s #%s not stored", run_pk, key, index)
    return stored


def _media(body: dict):
    for key in MEDIA_KEYS:
        items = body.get(key)
        if isinstance(items, dict):
            items = [items]
        for index, item in enumerate(items if isinstance(items, list) else [], start=1):
            if isinstance(item, dict):
                yield key, index, item


def _store_one(run, key: str, index: int, item: dict, source: str) -> int:
    from scheduler_admin.models import Artifact

    data = _decode(item.get("content"))
    if data is None:
        return 0
    if len(data) > MAX_ARTIFACT_BYTES:
        log.warning("run %s: %s #%s is larger than %s bytes", run.pk, key, index, len(data))
        return 0
    content_type = str(item.get("mime_type") or "") or _sniff(data) or DEFAULT_TYPES[key]
    name = _name(key, index, item, content_type)
    if Artifact.objects.filter(run=run, name=name).exists():
        return 0
    artifact = Artifact(
        run=run, name=name, content_type=content_type[:128], size_bytes=len(data), source=source
    )
    artifact.file.save(name, ContentFile(data), save=False)
    try:
        artifact.save()
    except IntegrityError:  # stored meanwhile by a redelivered attempt
        artifact.file.delete(save=False)
        return 0
    return 1


def _decode(content: Any) -> bytes | None:
    if isinstance(content, bytes):
        return content
    if not isinstance(content, str) or not content:
        return None
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        return None


def _sniff(data: bytes) -> str:
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    return ""


EXTENSIONS = {
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/mpeg": ".mp3",
    "audio/ogg": ".ogg",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "video/mp4": ".mp4",
    "application/pdf": ".pdf",
}


def _name(key: str, index: int, item: dict, content_type: str) -> str:
    extension = EXTENSIONS.get(content_type) or mimetypes.guess_extension(content_type) or ""
    fmt = str(item.get("format") or "").strip(".")
    if fmt.isalnum() and len(fmt) <= 8:
        extension = f".{fmt}"
    return f"{key}-{index}{extension}"
