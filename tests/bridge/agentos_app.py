"""A real AgentOS for the bridge's integration tests: function-step workflows, no model.

Started by tests/bridge/conftest.py as ``uvicorn tests.bridge.agentos_app:app``; the
SQLite file comes from the AGENTOS_TEST_DB environment variable.
"""

import asyncio
import os

from agno.db.sqlite import SqliteDb
from agno.os import AgentOS
from agno.workflow import Step, Workflow
from agno.workflow.types import StepInput, StepOutput


def research(step_input: StepInput) -> StepOutput:
    return StepOutput(content=f"notes on {step_input.input}")


def outline(step_input: StepInput) -> StepOutput:
    return StepOutput(content=f"outline of ({step_input.previous_step_content})")


def draft(step_input: StepInput) -> StepOutput:
    return StepOutput(content=f"draft from ({step_input.previous_step_content})")


def explode(step_input: StepInput) -> StepOutput:
    raise RuntimeError("the source feed is down")


async def dawdle(step_input: StepInput) -> StepOutput:
    # Async, so the server's event loop keeps answering polls meanwhile.
    await asyncio.sleep(float(os.environ.get("AGENTOS_TEST_SLOW_S", "5")))
    return StepOutput(content="finally")


db = SqliteDb(db_file=os.environ.get("AGENTOS_TEST_DB", "/tmp/agentos-test.db"))

workflows = [
    Workflow(
        id="digest",
        name="Digest",
        db=db,
        steps=[
            Step(name="research", executor=research),
            Step(name="outline", executor=outline),
            Step(name="draft", executor=draft),
        ],
    ),
    Workflow(
        id="broken",
        name="Broken",
        db=db,
        steps=[Step(name="explode", executor=explode, max_retries=0)],
    ),
    Workflow(id="slow", name="Slow", db=db, steps=[Step(name="dawdle", executor=dawdle)]),
]

agent_os = AgentOS(id="bridge-tests", workflows=workflows, db=db, tracing=True)
app = agent_os.get_app()
