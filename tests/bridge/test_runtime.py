"""The local runtime runs real agno workflows: sequential, Parallel, Loop, Condition and
Router steps, failures, timeouts, retries, and agno's own spans stored as a trace."""

import asyncio
import threading

import pytest
from agno.workflow import Step, Workflow
from agno.workflow.types import StepInput, StepOutput
from django.core.exceptions import ImproperlyConfigured

import agentos_bridge
from agentos_bridge.outcome import RunRequest, TargetInfo
from agentos_bridge.runtime import registry, runner
from agentos_bridge.spans import SpanRecord
from scheduler_admin.engine.execution import execute_run
from scheduler_admin.engine.operations import trigger_now
from scheduler_admin.models import AgentSession, RunStatus, ScheduleRun, Trace
from tests.factories import make_schedule

pytestmark = pytest.mark.django_db


@pytest.fixture
def registered():
    """Register agno workflows for one test; they are gone after it."""
    added = []

    def register(workflow):
        registry.register(workflow)
        added.append(workflow.id)
        return workflow

    yield register
    for workflow_id in added:
        registry.unregister(workflow_id)


def run_local(endpoint: str, message="topic", timeout_s=5.0):
    return agentos_bridge.execute(
        RunRequest(
            target=TargetInfo(name="local"),
            method="POST",
            endpoint=endpoint,
            payload={"message": message},
            timeout_s=timeout_s,
            idempotency_key="sched-9-1700000000-1",
        )
    )


def spans_of(outcome) -> dict:
    trace = Trace.objects.get(run_id=outcome.run_id, source="local")
    return {s.name: s for s in trace.spans.all()}


def test_sequential_steps_feed_each_other_and_agno_records_a_span_each():
    outcome = run_local("/workflows/digest/runs", "agents")
    assert outcome.status == "success", outcome.error
    assert outcome.output["content"] == "draft from (outline of (notes on agents))"
    assert [s["step_name"] for s in outcome.output["step_results"]] == [
        "research",
        "outline",
        "draft",
    ]
    spans = spans_of(outcome)
    root = spans["Daily_digest._aexecute"]  # agno's span names, as on an AgentOS
    for name in ("research", "outline", "draft"):
        assert spans[f"{name}.aexecute"].parent_span_id == root.span_id
        assert spans[f"{name}.aexecute"].status == "OK"
        assert spans[f"{name}.aexecute"].duration_ms is not None
    assert spans["outline.aexecute"].output == "outline of (notes on agents)"
    trace = Trace.objects.get(run_id=outcome.run_id, source="local")
    assert (trace.workflow_id, trace.session_id, trace.status) == (
        "digest",
        outcome.session_id,
        "OK",
    )
    session = AgentSession.objects.get(session_id=outcome.session_id)
    assert (session.session_type, session.component_id) == ("workflow", "digest")
    assert [s["name"] for s in session.data["steps"]] == ["research", "outline", "draft"]


def test_parallel_steps_run_concurrently_and_nest_under_the_parallel_span(registered):
    from agno.workflow import Parallel

    started: set[str] = set()
    both_started = asyncio.Event()

    def side(label):
        async def fn(step_input: StepInput) -> StepOutput:
            started.add(label)
            if len(started) == 2:
                both_started.set()
            # Times out unless the two run concurrently.
            await asyncio.wait_for(both_started.wait(), 5)
            return StepOutput(content=f"{label}:{step_input.input}")

        return fn

    registered(
        Workflow(
            id="t-parallel",
            name="Parallel test",
            steps=[
                Parallel(
                    Step(name="a", executor=side("a")),
                    Step(name="b", executor=side("b")),
                    name="both",
                )
            ],
        )
    )
    outcome = run_local("/workflows/t-parallel/runs", "x")
    assert outcome.status == "success", outcome.error
    spans = spans_of(outcome)
    parent = spans["both.aexecute"].span_id
    assert spans["a.aexecute"].parent_span_id == spans["b.aexecute"].parent_span_id == parent
    assert {spans["a.aexecute"].output, spans["b.aexecute"].output} == {"a:x", "b:x"}


def test_fan_out_merges_what_its_parallel_sources_found():
    outcome = run_local("/workflows/fan-out/runs", "vectors")
    assert outcome.output["content"] == (
        "news results for vectors | papers results for vectors | web results for vectors"
    )


def test_loop_repeats_until_its_end_condition_and_the_condition_step_publishes():
    outcome = run_local("/workflows/quality-loop/runs", "notes")
    assert outcome.output["content"] == "published: notes (revised) (revised)"
    trace = Trace.objects.get(run_id=outcome.run_id, source="local")
    spans = list(trace.spans.values_list("name", flat=True))
    assert spans.count("improve.aexecute") == 3 and "publish.aexecute" in spans


def test_router_runs_only_the_branch_it_picks():
    outcome = run_local("/workflows/router/runs", "news: launch")
    assert outcome.output["content"] == "HEADLINE: news: launch"
    names = set(spans_of(outcome))
    assert "news_desk.aexecute" in names and "general_desk.aexecute" not in names
    assert run_local("/workflows/router/runs", "weather").output["content"] == "summary: weather"


def test_failing_step_fails_the_run_with_its_error_and_an_error_span(registered):
    def explode(step_input):
        raise ValueError("bad input row 7")

    registered(
        Workflow(
            id="t-fail",
            name="Failing test",
            steps=[Step(name="explode", executor=explode, max_retries=0)],
        )
    )
    outcome = run_local("/workflows/t-fail/runs")
    assert outcome.status == "failed" and outcome.retryable
    assert outcome.error == "Step explode failed: bad input row 7"
    assert outcome.output["step_results"][0]["success"] is False


def test_run_past_its_timeout_is_cancelled_with_the_partial_trace(registered):
    async def stuck(step_input):
        await asyncio.sleep(30)

    registered(
        Workflow(
            id="t-stuck",
            name="Stuck test",
            steps=[
                Step(name="quick", executor=lambda s: StepOutput(content="ok")),
                Step(name="stuck", executor=stuck),
            ],
        )
    )
    outcome = run_local("/workflows/t-stuck/runs", timeout_s=0.5)
    assert outcome.status == "timeout" and outcome.retryable and outcome.run_id
    spans = spans_of(outcome)
    assert spans["quick.aexecute"].status == "OK"
    # Cancelled at the deadline: the step's span ends there (agno leaves it UNSET).
    assert spans["stuck.aexecute"].status == "UNSET" and spans["stuck.aexecute"].end_time
    assert Trace.objects.get(run_id=outcome.run_id, source="local").status == "ERROR"


def test_unknown_workflow_is_a_404_failure_and_noop_still_works():
    outcome = run_local("/workflows/nope/runs")
    assert (outcome.status, outcome.status_code, outcome.retryable) == ("failed", 404, False)
    assert run_local("/noop").status == "success"


def test_flaky_workflow_succeeds_on_the_retry_created_by_policy(inline_dispatch):
    schedule = make_schedule(
        endpoint="/workflows/flaky/runs", payload={"message": "x"}, max_retries=3, retry_delay_s=1
    )
    run = trigger_now(schedule)
    statuses = []
    while run is not None:
        run.refresh_from_db()
        statuses.append(run.status)
        run = ScheduleRun.objects.filter(retry_of=run).first()
        if run is not None:
            execute_run(run.pk)
    assert statuses == [RunStatus.FAILED, RunStatus.FAILED, RunStatus.SUCCESS]
    first = ScheduleRun.objects.get(schedule=schedule, attempt=1)
    assert "upstream flaked" in first.error
    assert Trace.objects.filter(source="local", schedule_run=first).exists()
    ours = Trace.objects.get(source="scheduler", schedule_run=first)
    assert {"claim", "local call", "complete"} <= set(ours.spans.values_list("name", flat=True))


@pytest.mark.parametrize("seconds", ["abc", -1, "nan", None, "inf", True])
def test_sleep_with_a_bad_seconds_value_fails_without_retry(seconds):
    outcome = agentos_bridge.execute(
        RunRequest(
            target=TargetInfo(name="local"),
            method="POST",
            endpoint="/sleep",
            payload={"seconds": seconds},
            timeout_s=1,
            idempotency_key="k",
        )
    )
    assert (outcome.status, outcome.retryable) == ("failed", False)
    assert "finite number" in outcome.error


def test_an_exception_inside_the_bridge_is_a_failed_outcome_with_a_stored_trace():
    def on_sent(at):
        raise KeyError("secret detail")

    request = RunRequest(
        target=TargetInfo(name="local"),
        method="POST",
        endpoint="/noop",
        payload={},
        timeout_s=1,
        idempotency_key="k",
        schedule_name="boom",
        on_sent=on_sent,
    )
    outcome = agentos_bridge.execute(request)
    assert (outcome.status, outcome.retryable) == ("failed", False)
    assert outcome.error == "Internal error in the bridge: KeyError"
    trace = Trace.objects.get(source="scheduler", name="fire boom")
    assert trace.status == "ERROR" and trace.end_time is not None
    assert "complete" in set(trace.spans.values_list("name", flat=True))


def test_the_run_store_evicts_only_finished_runs(monkeypatch):
    monkeypatch.setattr(runner, "_runs", {})
    monkeypatch.setattr(runner, "KEEP_RUNS", 2)
    runs = [runner.prepare("workflows", "digest", "x") for _ in range(4)]
    for index, run in enumerate(runs):
        run.run_id = f"r{index}"
    running, finished, newer, newest = runs
    finished.done.set()
    newer.done.set()
    for run in runs:
        runner.remember(run)
    assert runner.recall(running.run_id) is running  # oldest, but still going
    assert runner.recall(finished.run_id) is None
    assert runner.recall(newer.run_id) is None
    assert runner.recall(newest.run_id) is newest


def test_the_components_come_from_the_agentos_object_named_in_settings(monkeypatch, settings):
    settings.LOCAL_AGNO_APP = "tests.bridge.local_app:agent_os"
    monkeypatch.setattr(registry, "_loaded", False)
    monkeypatch.setattr(registry, "_components", {kind: {} for kind in registry.KINDS})
    assert registry.ids("workflows") == ["shout"]
    outcome = run_local("/workflows/shout/runs", "quiet")
    assert (outcome.status, outcome.output["content"]) == ("success", "QUIET")


@pytest.mark.parametrize(
    "path", ["no_colon", "tests.bridge.nope:x", "agentos_bridge.runtime.demo:missing"]
)
def test_a_bad_import_path_names_the_setting(monkeypatch, settings, path):
    settings.LOCAL_AGNO_APP = path
    monkeypatch.setattr(registry, "_loaded", False)
    monkeypatch.setattr(registry, "_components", {kind: {} for kind in registry.KINDS})
    with pytest.raises(ImproperlyConfigured, match="LOCAL_AGNO_APP"):
        registry.ids("workflows")
    outcome = run_local("/workflows/digest/runs")
    assert (outcome.status, outcome.retryable) == ("failed", False)
    assert outcome.error.startswith(f"LOCAL_AGNO_APP={path!r}")


def test_concurrent_first_lookups_all_find_the_demo(monkeypatch):
    monkeypatch.setattr(registry, "_loaded", False)
    monkeypatch.setattr(registry, "_components", {kind: {} for kind in registry.KINDS})
    start = threading.Barrier(8, timeout=5)
    found = []

    def lookup():
        start.wait()
        found.append(registry.get("workflows", "digest"))

    threads = [threading.Thread(target=lookup) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(found) == 8 and all(w is not None for w in found)


def test_a_finishing_span_has_no_end_time_until_its_output_and_status_are_set():
    record = SpanRecord(name="s")
    seen = []

    class Output:
        def __str__(self):
            seen.append(record.end_time)  # as_text() runs inside finish()
            return "out"

    record.finish(output=Output())
    assert seen == [None]
    assert (record.output, record.status) == ('"out"', "OK") and record.end_time is not None
