"""The demo workflows (agentos_bridge.runtime.demo) on a real AgentOS, unchanged.

Started by the parity tests as ``uvicorn tests.bridge.agentos_demo_app:app``; the SQLite
file comes from AGENTOS_TEST_DB. ``agent_os`` is also what LOCAL_AGNO_APP may name.
"""

import os

from agno.db.sqlite import SqliteDb
from agno.os import AgentOS

from agentos_bridge.runtime.demo import workflows

db = SqliteDb(db_file=os.environ.get("AGENTOS_TEST_DB", "/tmp/agentos-demo-test.db"))
for workflow in workflows:
    workflow.db = db

agent_os = AgentOS(id="demo-parity", workflows=workflows, db=db, tracing=True)
app = agent_os.get_app()
