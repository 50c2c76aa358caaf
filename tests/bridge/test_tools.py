"""SchedulerTools: the agent-facing toolkit returns JSON, never raises, saves nothing
invalid, and agno builds tool schemas from it."""

import json

import pytest
from agno.agent import Agent

from agentos_bridge.tools import TOOL_NAMES, SchedulerTools
from scheduler_admin.models import AuditEntry, Schedule

pytestmark = pytest.mark.django_db


@pytest.fixture
def tools():
    return SchedulerTools(endpoint="/workflows/digest/runs", timezone="Europe/Berlin")


def call(tools, tool, **kwargs) -> dict:
    answer = getattr(tools, tool)(**kwargs)
    assert isinstance(answer, str)
    return json.loads(answer)


def test_create_uses_the_defaults_and_records_an_audit_entry(tools):
    created = call(
        tools, "create_schedule", name="morning digest", cron_expr="0 7 * * *", message="AI news"
    )
    assert created["endpoint"] == "/workflows/digest/runs"
    assert (created["method"], created["timezone"], created["target"]) == (
        "POST",
        "Europe/Berlin",
        "local",
    )
    assert created["payload"] == {"message": "AI news"} and created["next_run_at"]
    assert AuditEntry.objects.filter(schedule_name="morning digest", action="created").exists()


def test_list_get_disable_enable_and_delete(tools):
    call(tools, "create_schedule", name="a", cron_expr="* * * * *", message="m")
    call(tools, "create_schedule", name="b", cron_expr="* * * * *", message="m")
    assert [s["name"] for s in call(tools, "list_schedules")["data"]] == ["a", "b"]
    assert call(tools, "disable_schedule", schedule="a", reason="holiday")["enabled"] is False
    assert [s["name"] for s in call(tools, "list_schedules", enabled_only=True)["data"]] == ["b"]
    assert call(tools, "get_schedule", schedule="a")["paused_reason"] == "holiday"
    assert call(tools, "enable_schedule", schedule="a")["enabled"] is True
    assert call(tools, "delete_schedule", schedule="a") == {"deleted": "a"}
    assert "No schedule named 'a'" in call(tools, "get_schedule", schedule="a")["error"]


def test_trigger_runs_now_and_runs_are_listed(tools, inline_dispatch):
    call(tools, "create_schedule", name="now", cron_expr="0 0 1 1 *", message="go")
    run = call(tools, "trigger_schedule", schedule="now")
    assert (run["status"], run["trigger"]) == ("success", "manual")
    runs = call(tools, "get_schedule_runs", schedule="now")["data"]
    assert [r["id"] for r in runs] == [run["id"]] and runs[0]["run_id"]


def test_trigger_of_a_disabled_schedule_is_a_json_error(tools):
    call(tools, "create_schedule", name="off", cron_expr="* * * * *", message="m")
    call(tools, "disable_schedule", schedule="off")
    assert "disabled" in call(tools, "trigger_schedule", schedule="off")["error"]


@pytest.mark.parametrize(
    ("kwargs", "field", "text"),
    [
        ({"name": "bad name!", "cron_expr": "* * * * *", "message": "m"}, "name", "letters"),
        ({"name": "x", "cron_expr": "* * * *", "message": "m"}, "cron_expr", "5 fields"),
        (
            {"name": "x", "cron_expr": "* * * * *", "message": "m", "timezone": "Mars/Base"},
            "timezone",
            "IANA",
        ),
        (
            {
                "name": "x",
                "cron_expr": "* * * * *",
                "message": "m",
                "endpoint": "http://evil/agents/a/runs",
            },
            "endpoint",
            "not a full URL",
        ),
        ({"name": "x", "cron_expr": "* * * * *"}, "payload", '"message"'),
        (
            {"name": "x", "cron_expr": "* * * * *", "message": "m", "timeout_s": 0},
            "timeout_s",
            "between 1 and 86400",
        ),
        ({"name": "x", "cron_expr": "* * * * *", "payload_json": "{oops"}, "payload", "JSON"),
    ],
)
def test_invalid_input_is_a_readable_json_error_and_saves_nothing(tools, kwargs, field, text):
    answer = call(tools, "create_schedule", **kwargs)
    assert text in " ".join(answer["fields"][field])
    assert answer["error"].startswith("Invalid")
    assert not Schedule.objects.exists()


def test_agent_builds_tool_schemas_for_every_tool():
    agent = Agent(tools=[SchedulerTools()])
    (toolkit,) = agent.tools
    functions = toolkit.get_functions()
    assert tuple(functions) == TOOL_NAMES
    for function in functions.values():
        function.process_entrypoint()
    schema = functions["create_schedule"].to_dict()
    assert schema["parameters"]["required"] == ["name", "cron_expr"]
    assert schema["parameters"]["properties"]["timeout_s"]["type"] == "integer"
    assert functions["get_schedule_runs"].to_dict()["parameters"]["properties"]["limit"]
