"""A real AgentOS with its scheduler on, for the importer test.

Run: python tests/api/agentos_scheduler_app.py DB_FILE PORT SECURITY_KEY
The /schedules router is mounted whenever AgentOS has a db; scheduler=True also starts
its poller (which needs croniter and pytz, both installed with agno[os]).
"""

import sys

import uvicorn
from agno.db.sqlite import SqliteDb
from agno.os import AgentOS
from agno.os.settings import AgnoAPISettings


def build_app(db_file: str, port: int, security_key: str):
    agent_os = AgentOS(
        db=SqliteDb(db_file=db_file),
        settings=AgnoAPISettings(os_security_key=security_key),
        scheduler=True,
        scheduler_base_url=f"http://127.0.0.1:{port}",
        internal_service_token="internal-" + security_key,
        telemetry=False,
    )
    return agent_os.get_app()


if __name__ == "__main__":
    db_file, port, key = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    uvicorn.run(build_app(db_file, port, key), host="127.0.0.1", port=port, log_level="warning")
