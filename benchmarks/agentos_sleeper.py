"""The agent server of benchmarks/inflight.py: a real AgentOS (agno) whose workflow
awaits BENCH_SLEEP_S seconds in an async step, so the server's event loop is not what
limits the number of runs in flight. Tracing is off, as on many servers."""

import asyncio
import os

from agno.db.sqlite import SqliteDb
from agno.os import AgentOS
from agno.workflow import Step, Workflow
from agno.workflow.types import StepInput, StepOutput

from benchmarks.arrivals import ArrivalLog


async def sleep(step_input: StepInput) -> StepOutput:
    await asyncio.sleep(float(os.environ.get("BENCH_SLEEP_S", "30")))
    return StepOutput(content="slept")


db = SqliteDb(db_file=os.environ.get("BENCH_AGNO_DB", "/tmp/bench-agno.db"))
sleeper = Workflow(id="sleeper", name="Sleeper", db=db, steps=[Step(name="sleep", executor=sleep)])
app = ArrivalLog(AgentOS(id="bench", workflows=[sleeper], db=db, tracing=False).get_app())
