"""The in-process runtime: pipelines, their nested spans, failures and timeouts."""

import threading

import pytest

import agentos_bridge
from agentos_bridge.outcome import RunRequest, TargetInfo
from agentos_bridge.runtime import registry, runner
from agentos_bridge.runtime.pipeline import Condition, Parallel, Step, Workflow
from agentos_bridge.runtime.registry import register_workflow
from agentos_bridge.spans import SpanRecord
from scheduler_admin.engine.execution import execute_run
from scheduler_admin.engine.operations import trigger_now
from scheduler_admin.models import AgentSession, RunStatus, ScheduleRun, Trace
from tests.factories import make_schedule

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _restore_registry():
    """Workflows and agents a test registers are gone after it."""
    registry.agent_ids()  # the demo is loaded, so it is part of what is restored
    agents, workflows = dict(registry._agents), dict(registry._workflows)
    yield
    registry._agents.clear()
    registry._agents.update(agents)
    registry._workflows.clear()
    registry._workflows.update(workflows)


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


def test_sequential_steps_feed_each_other_and_record_a_span_each():
    outcome = run_local("/workflows/digest/runs", "agents")
    assert outcome.status == "success"
    assert outcome.output["content"] == "draft from (outline of (notes on agents))"
    spans = spans_of(outcome)
    root = spans["Daily digest"]
    for name in ("research", "outline", "draft"):
        assert spans[name].parent_span_id == root.span_id
        assert spans[name].status == "OK" and spans[name].duration_ms is not None
    assert spans["outline"].input == "notes on agents"
    session = AgentSession.objects.get(session_id=outcome.session_id)
    assert (session.session_type, session.component_id) == ("workflow", "digest")


def test_parallel_steps_run_concurrently_and_nest_under_the_parallel_span():
    both_started = threading.Barrier(2, timeout=5)

    def side(label):
        def fn(value):
            both_started.wait()  # deadlocks (BrokenBarrierError) unless concurrent
            return f"{label}:{value}"

        return fn

    register_workflow(
        "t-parallel",
        Workflow("t-parallel", [Parallel("both", Step("a", side("a")), Step("b", side("b")))]),
    )
    outcome = run_local("/workflows/t-parallel/runs", "x")
    assert outcome.output["content"] == {"a": "a:x", "b": "b:x"}
    spans = spans_of(outcome)
    assert spans["a"].parent_span_id == spans["b"].parent_span_id == spans["both"].span_id


def test_loop_repeats_until_its_condition_and_condition_gates_a_step():
    outcome = run_local("/workflows/quality-loop/runs", "notes")
    assert outcome.output["content"] == "notes (revised) (revised)"
    trace = Trace.objects.get(run_id=outcome.run_id, source="local")
    loop = trace.spans.get(name="refine")
    assert trace.spans.filter(name="improve", parent_span_id=loop.span_id).count() == 3
    assert trace.spans.get(name="publish").parent_span_id == trace.spans.get(name="polish").span_id


def test_condition_passes_the_input_on_when_its_predicate_fails():
    register_workflow(
        "t-cond",
        Workflow(
            "t-cond", [Condition("only-long", lambda v: len(v) > 5, Step("upper", str.upper))]
        ),
    )
    assert run_local("/workflows/t-cond/runs", "short!").output["content"] == "SHORT!"
    assert run_local("/workflows/t-cond/runs", "tiny").output["content"] == "tiny"


def test_router_runs_only_the_branch_it_picks():
    outcome = run_local("/workflows/router/runs", "news: launch")
    assert outcome.output["content"] == "HEADLINE: news: launch"
    spans = spans_of(outcome)
    assert "news-desk" in spans and "general-desk" not in spans
    assert spans["news-desk"].parent_span_id == spans["route"].span_id


def test_failing_step_fails_the_run_with_its_error_and_an_error_span():
    def explode(value):
        raise ValueError("bad input row 7")

    register_workflow("t-fail", Workflow("t-fail", [Step("ok", str), Step("explode", explode)]))
    outcome = run_local("/workflows/t-fail/runs")
    assert outcome.status == "failed" and outcome.retryable
    assert "bad input row 7" in outcome.error
    spans = spans_of(outcome)
    assert spans["explode"].status == "ERROR" and "bad input row 7" in spans["explode"].error
    assert Trace.objects.get(run_id=outcome.run_id, source="local").status == "ERROR"


def test_run_past_its_timeout_is_a_timeout_with_the_partial_trace():
    release = threading.Event()
    register_workflow(
        "t-stuck",
        Workflow("t-stuck", [Step("quick", str), Step("stuck", lambda v: release.wait(10))]),
    )
    try:
        outcome = run_local("/workflows/t-stuck/runs", timeout_s=0.3)
    finally:
        release.set()
    assert outcome.status == "timeout" and outcome.retryable
    spans = spans_of(outcome)
    assert spans["quick"].status == "OK" and spans["stuck"].end_time is None


def test_unknown_workflow_is_a_404_failure_and_noop_still_works():
    outcome = run_local("/workflows/nope/runs")
    assert (outcome.status, outcome.status_code, outcome.retryable) == ("failed", 404, False)
    assert run_local("/noop").status == "success"


def test_agent_is_a_function_from_message_to_content():
    outcome = run_local("/agents/echo/runs", "hello")
    assert (outcome.status, outcome.output) == ("success", "You said: hello")
    assert spans_of(outcome)["echo"].span_type == "AGENT"


def test_flaky_agent_succeeds_on_the_retry_created_by_policy(inline_dispatch):
    schedule = make_schedule(
        endpoint="/agents/flaky/runs", payload={"message": "x"}, max_retries=3, retry_delay_s=1
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
    local = Trace.objects.get(source="local", schedule_run=first)
    assert local.status == "ERROR"
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
    running, finished, newer, newest = (runner.prepare("agents", "echo", "x") for _ in range(4))
    finished.done.set()
    newer.done.set()
    for run in (running, finished, newer, newest):
        runner.remember(run)
    assert runner.recall(running.run_id) is running  # oldest, but still going
    assert runner.recall(finished.run_id) is None
    assert runner.recall(newer.run_id) is None
    assert runner.recall(newest.run_id) is newest


def test_concurrent_first_lookups_all_find_the_demo(monkeypatch):
    import sys

    import agentos_bridge.runtime
    import agentos_bridge.runtime.demo as demo

    # The lookups import a fresh demo module; afterwards the original is restored
    # (in sys.modules and as the package attribute), with the registry.
    monkeypatch.setattr(agentos_bridge.runtime, "demo", demo)
    monkeypatch.setattr(registry, "_demo_loaded", False)
    monkeypatch.delitem(sys.modules, "agentos_bridge.runtime.demo")
    registry._agents.clear()
    registry._workflows.clear()
    start = threading.Barrier(8, timeout=5)
    found = []

    def lookup():
        start.wait()
        found.append(registry.get_workflow("digest"))

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
