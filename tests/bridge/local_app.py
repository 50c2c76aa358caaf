"""A project's AgentOS object, as LOCAL_AGNO_APP may name it (no database, no tracing)."""

from agno.os import AgentOS
from agno.workflow import Step, Workflow
from agno.workflow.types import StepInput, StepOutput


def shout(step_input: StepInput) -> StepOutput:
    return StepOutput(content=str(step_input.input).upper())


agent_os = AgentOS(
    id="project-app",
    workflows=[Workflow(id="shout", name="Shout", steps=[Step(name="shout", executor=shout)])],
)
