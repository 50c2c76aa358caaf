"""Cross-modal chaining: the narrated digest and code narration speak through espeak-ng,
their audio is stored as an artifact (a valid WAV), the run page plays it; and without
espeak-ng the demo says so plainly and the rest of the run goes on."""

import io
import os
import shutil
import wave

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from agentos_bridge.runtime import speech
from scheduler_admin.engine.operations import trigger_now
from scheduler_admin.models import Artifact, RunStatus
from tests.factories import make_schedule, make_user

pytestmark = pytest.mark.django_db

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (make system-deps)"
)


@pytest.fixture(autouse=True)
def _artifacts_in_tmp(artifact_dir):
    return artifact_dir


def run_workflow(workflow: str, message: str):
    schedule = make_schedule(endpoint=f"/workflows/{workflow}/runs", payload={"message": message})
    run = trigger_now(schedule)
    run.refresh_from_db()
    return run


def wav_facts(data: bytes) -> tuple[int, float]:
    with wave.open(io.BytesIO(data)) as wav:
        return wav.getframerate(), wav.getnframes() / wav.getframerate()


@needs_espeak
def test_narrated_digest_stores_a_valid_wav_artifact(inline_dispatch):
    run = run_workflow("narrated-digest", "agents")
    assert run.status == RunStatus.SUCCESS, run.error
    assert run.output["content"] == "draft from (outline of (notes on agents))"
    assert [s["step_name"] for s in run.output["step_results"]][-1] == "speak"
    (artifact,) = Artifact.objects.filter(run=run)
    assert (artifact.name, artifact.content_type, artifact.source) == (
        "audio-1.wav",
        "audio/wav",
        "local",
    )
    with artifact.file.open("rb") as handle:
        data = handle.read()
    assert artifact.size_bytes == len(data)
    rate, duration_s = wav_facts(data)
    assert rate == 22050 and duration_s > 1.0


@needs_espeak
def test_code_narration_explains_a_file_then_speaks_it(inline_dispatch):
    run = run_workflow("code-narration", "agentos_bridge/runtime/speech.py")
    assert run.status == RunStatus.SUCCESS, run.error
    steps = {s["step_name"]: s for s in run.output["step_results"]}
    assert "The function synthesize: WAV bytes of" in steps["explain"]["content"]
    (artifact,) = Artifact.objects.filter(run=run)
    with artifact.file.open("rb") as handle:
        assert wav_facts(handle.read())[1] > 1.0


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("../../etc/passwd", "No file '../../etc/passwd' in the project"),
        ("pyproject.toml", "pyproject.toml is not a Python source file of the project"),
        (".venv/bin/activate", "not a Python source file"),
    ],
)
def test_code_narration_reads_only_python_source_of_the_project(inline_dispatch, path, error):
    run = run_workflow("code-narration", path)
    assert run.status == RunStatus.FAILED
    assert error in run.error
    assert not Artifact.objects.filter(run=run).exists()


def test_without_espeak_the_demo_says_so_and_the_rest_runs(inline_dispatch, monkeypatch, tmp_path):
    # A PATH with python but without espeak-ng, as on a machine that lacks the package.
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin") + os.pathsep + "/nonexistent")
    assert speech.engine_path() is None
    run = run_workflow("narrated-digest", "agents")
    assert run.status == RunStatus.SUCCESS, run.error
    steps = {s["step_name"]: s for s in run.output["step_results"]}
    assert steps["draft"]["content"] == "draft from (outline of (notes on agents))"
    assert steps["speak"]["success"] is True
    assert steps["speak"]["content"].startswith(
        "Speech skipped: espeak-ng is not installed on this machine (apt-get install espeak-ng)."
    )
    assert not Artifact.objects.filter(run=run).exists()
    assert run_workflow("digest", "agents").status == RunStatus.SUCCESS
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "Speech skipped: espeak-ng is not installed" in out.getvalue()


@needs_espeak
def test_run_page_plays_the_audio_and_anyone_who_reads_the_run_downloads_it(inline_dispatch):
    run = run_workflow("narrated-digest", "agents")
    artifact = Artifact.objects.get(run=run)
    client = Client()
    client.force_login(make_user("viewer"))
    page = client.get(reverse("run_detail", args=[run.pk])).content.decode()
    url = reverse("artifact_download", args=[run.pk, artifact.pk])
    assert f'<audio controls preload="metadata" src="{url}">' in page
    assert "audio/wav" in page and "audio-1.wav" in page
    inline = client.get(url)
    assert inline.status_code == 200 and inline["Content-Type"] == "audio/wav"
    assert b"".join(inline.streaming_content)[:4] == b"RIFF"
    download = client.get(url + "?download=1")
    assert download["Content-Disposition"].startswith('attachment; filename="audio-1.wav"')
    assert client.get(reverse("artifact_download", args=[run.pk + 1, artifact.pk])).status_code
    assert Client().get(url).status_code == 302  # not logged in: to the login page


def test_deleting_a_run_deletes_its_artifact_files(inline_dispatch, artifact_dir):
    from agentos_bridge.artifacts import store_media

    run = run_workflow("digest", "agents")
    stored = store_media(
        run.pk, {"images": [{"content": "iVBORw0KGgo=", "mime_type": "image/png"}]}, source="local"
    )
    assert stored == 1
    path = Artifact.objects.get(run=run).file.path
    assert os.path.exists(path)
    run.delete()
    assert not os.path.exists(path) and not Artifact.objects.exists()
