"""The same agno workflow module through the local target and through a real AgentOS
(tests/bridge/agentos_demo_app.py serves agentos_bridge.runtime.demo unchanged): the same
step outputs and the same span names. And media an AgentOS run returns become artifacts."""

import pytest
from django.test import Client
from django.urls import reverse

from scheduler_admin.engine.operations import trigger_now
from scheduler_admin.models import Artifact, RunStatus, Target, Trace
from tests.factories import make_schedule, make_user

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

CASES = [
    ("digest", "agents"),
    ("fan-out", "vector databases"),
    ("quality-loop", "release notes"),
    ("router", "news: the scheduler shipped"),
    ("router", "weather"),
    ("code-narration", "agentos_bridge/runtime/speech.py"),
    ("narrated-digest", "agents"),
]


def run_on(target, workflow: str, message: str):
    schedule = make_schedule(
        target=target, endpoint=f"/workflows/{workflow}/runs", payload={"message": message}
    )
    run = trigger_now(schedule)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCESS, run.error
    return run


def steps(run) -> list[tuple]:
    return [(s["step_name"], s["step_type"], s["content"]) for s in run.output["step_results"]]


def span_names(run, source: str) -> list[str]:
    trace = Trace.objects.get(schedule_run=run, source=source)
    # A remote background run may add the HTTP request's span around agno's: compare
    # agno's spans (the workflow's and its steps').
    return sorted(n for n in trace.spans.values_list("name", flat=True) if "execute" in n)


@pytest.mark.parametrize(("workflow", "message"), CASES)
def test_local_and_agentos_give_the_same_steps_and_span_names(
    demo_agentos, inline_dispatch, artifact_dir, workflow, message
):
    remote = Target.objects.create(name="demo-agentos", base_url=demo_agentos.url)
    local = Target.objects.get(name="local")
    here, there = run_on(local, workflow, message), run_on(remote, workflow, message)
    assert here.output["content"] == there.output["content"]
    assert steps(here) == steps(there)
    assert span_names(here, "local") == span_names(there, "remote")
    assert len(span_names(here, "local")) >= 2
    # Speech, where the workflow speaks: a WAV on each side, imported from the AgentOS.
    media = [
        list(Artifact.objects.filter(run=r).values_list("name", "content_type"))
        for r in (here, there)
    ]
    assert media[0] == media[1]


def test_media_returned_by_an_agentos_run_are_stored_and_shown(
    agentos_target, inline_dispatch, artifact_dir
):
    run = run_on(agentos_target, "media", "draw")
    artifacts = {a.media_kind: a for a in Artifact.objects.filter(run=run)}
    assert set(artifacts) == {"audio", "image"}
    assert artifacts["image"].content_type == "image/png" and artifacts["image"].source == "remote"
    with artifacts["image"].file.open("rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    with artifacts["audio"].file.open("rb") as handle:
        assert handle.read(4) == b"RIFF"
    client = Client()
    client.force_login(make_user("viewer"))
    page = client.get(reverse("run_detail", args=[run.pk])).content.decode()
    for artifact in artifacts.values():
        url = reverse("artifact_download", args=[run.pk, artifact.pk])
        assert f'src="{url}"' in page
        assert client.get(url).status_code == 200
    assert '<img src="' in page and "<audio controls" in page
