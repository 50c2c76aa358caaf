"""A run's artifacts: played or shown inline on the run page, and downloaded.

Whoever can read the run can read its artifacts (every console role). Only audio and
raster images are served inline; everything else is an attachment, so a document a run
produced never renders as a page of this site.
"""

from django.http import FileResponse
from django.shortcuts import get_object_or_404

from scheduler_admin.models import Artifact


def artifact_download(request, pk: int, artifact_pk: int):
    artifact = get_object_or_404(Artifact, pk=artifact_pk, run_id=pk)
    inline = artifact.media_kind != "file" and "download" not in request.GET
    response = FileResponse(
        artifact.file.open("rb"),
        content_type=artifact.content_type,
        as_attachment=not inline,
        filename=artifact.name,
    )
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
