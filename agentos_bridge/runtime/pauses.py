"""Where the local runtime keeps runs that paused for a person.

A component without a database runs on an in-memory one (runner.py): fast, and nothing
to prune, but gone when the worker returns. A run that ends PAUSED is therefore copied
(its session and the run) into this store, a SQLite file (``LOCAL_AGNO_DB``), so that
whichever worker later receives the answer can ``acontinue_run`` it; once the run has
ended for good its session is dropped from the store again, so the store only ever holds
runs that wait. Components that bring their own database keep their runs there, as on an
AgentOS, and are continued from it.

A file is fine on PostgreSQL deployments too: it holds only paused runs of the local
runtime, and every worker that may continue them must see the same file (one machine).
"""

import threading
from pathlib import Path
from typing import Any

from django.conf import settings

_stores: dict[str, Any] = {}
_lock = threading.Lock()


def store():
    """The agno SqliteDb at ``settings.LOCAL_AGNO_DB`` (one per path, made on first use)."""
    from agno.db.sqlite import SqliteDb

    path = str(settings.LOCAL_AGNO_DB)
    with _lock:
        if path not in _stores:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            _stores[path] = SqliteDb(db_file=path)
        return _stores[path]


def keep(original: Any, component: Any, session_id: str, run_output: Any) -> None:
    """Copy a paused run (and its session) from ``component``'s in-memory database into
    the store, through agno's own persistence of a fresh copy of ``original``."""
    session = component.get_session(session_id=session_id)
    if session is None or run_output is None:
        return
    keeper = original.deep_copy()
    keeper.db = store()
    keeper.save_session(session=session)
    runs = [getattr(r, "run_id", None) for r in session.runs or []]
    index = runs.index(run_output.run_id) if run_output.run_id in runs else None
    keeper.save_run(run=run_output, session_id=session_id, user_id=session.user_id, run_index=index)


def forget(session_id: str) -> None:
    """Drop a session whose run has ended from the store."""
    store().delete_session(session_id=session_id)
