"""An agno Agent with SchedulerTools, run by the local runtime as AgentOS runs it: it
schedules its own work (a scripted model makes the tool calls; no network, no key)."""

import pytest
from agno.agent import Agent

from agentos_bridge.runtime import registry
from agentos_bridge.tools import SchedulerTools
from scheduler_admin.engine.operations import trigger_now
from scheduler_admin.models import AuditEntry, RunStatus, Schedule, Trace
from tests.bridge.scripted_model import ScriptedModel
from tests.factories import make_schedule

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def planner():
    model = ScriptedModel(
        calls=[
            (
                "create_schedule",
                {"name": "nightly digest", "cron_expr": "0 2 * * *", "message": "overnight news"},
            )
        ],
        reply="I scheduled the nightly digest.",
    )
    agent = Agent(
        id="planner",
        name="Planner",
        model=model,
        tools=[SchedulerTools(endpoint="/workflows/digest/runs", timezone="Europe/Berlin")],
    )
    registry.register(agent)
    yield agent
    registry.unregister("planner")


def test_an_agent_in_the_local_runtime_schedules_its_own_work(planner, inline_dispatch):
    run = trigger_now(
        make_schedule(endpoint="/agents/planner/runs", payload={"message": "plan my nights"})
    )
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCESS, run.error
    assert run.output == "I scheduled the nightly digest."
    created = Schedule.objects.get(name="nightly digest")
    assert (created.endpoint, created.timezone, created.payload) == (
        "/workflows/digest/runs",
        "Europe/Berlin",
        {"message": "overnight news"},
    )
    assert AuditEntry.objects.filter(schedule_name="nightly digest", action="created").exists()
    trace = Trace.objects.get(schedule_run=run, source="local")
    names = set(trace.spans.values_list("name", flat=True))
    assert any("create_schedule" in name for name in names), names
    assert trace.agent_id == "planner"
