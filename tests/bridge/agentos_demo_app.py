"""The demo workflows (agentos_bridge.runtime.demo) on a real AgentOS, unchanged.

Started by the parity tests as ``uvicorn tests.bridge.agentos_demo_app:app``; the SQLite
file comes from AGENTOS_TEST_DB.
"""

import os

from agno.db.sqlite import SqliteDb
from agno.os import AgentOS

from agentos_bridge.runtime import demo

db = SqliteDb(db_file=os.environ.get("AGENTOS_TEST_DB", "/tmp/agentos-demo-test.db"))
workflows = [workflow.deep_copy(update={"db": db}) for workflow in demo.workflows]

agent_os = AgentOS(id="demo-parity", workflows=workflows, db=db, tracing=True)
app = agent_os.get_app()
