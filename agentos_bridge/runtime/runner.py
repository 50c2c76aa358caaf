"""Run one agent or workflow of the in-process runtime and store its session and trace.

:func:`start` runs in a thread and returns a :class:`LocalRun` at once;
:func:`LocalRun.wait` joins with a deadline and flushes the spans recorded so far
(live progress) from the caller's thread, which is the only one touching the database.
"""

import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agentos_bridge.runtime import registry
from agentos_bridge.runtime.pipeline import RunContext, call
from agentos_bridge.spans import now, save_trace

_ATTEMPT_SUFFIX = re.compile(r"-\d+$")


class UnknownComponent(LookupError):
    pass


@dataclass
class LocalRun:
    kind: str  # agents | workflows
    component_id: str
    message: Any
    ctx: RunContext
    status: str = "PENDING"  # PENDING | RUNNING | COMPLETED | ERROR
    content: Any = None
    error: str = ""
    created_at: datetime = field(default_factory=now)
    done: threading.Event = field(default_factory=threading.Event)
    trace_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def run_id(self) -> str:
        return self.ctx.run_id

    @property
    def session_id(self) -> str:
        return self.ctx.session_id

    def execute(self) -> None:
        """Run to the end (in whichever thread calls this); never raises."""
        self.status = "RUNNING"
        try:
            if self.kind == "workflows":
                self.content = registry.get_workflow(self.component_id).run(self.message, self.ctx)
            else:
                agent = registry.get_agent(self.component_id)
                with self.ctx.recorder.span(
                    self.component_id, "AGENT", input=self.message, agent_id=self.component_id
                ) as span:
                    self.content = call(agent, self.message, self.ctx)
                    span.finish(output=self.content)
            self.status = "COMPLETED"
        except Exception as exc:  # noqa: BLE001 - the run's error, reported as its outcome
            self.status, self.error = "ERROR", f"{type(exc).__name__}: {exc}"
        finally:
            self.done.set()

    def as_agentos(self) -> dict:
        """The run as AgentOS's GET /…/runs/{run_id} answers it."""
        body = {
            "run_id": self.run_id,
            "session_id": self.session_id,
            "status": self.status,
            "input": self.message,
            "content": self.content,
            "content_type": "str" if isinstance(self.content, str) else "dict",
            "error": self.error or None,
            "created_at": int(self.created_at.timestamp()),
        }
        if self.kind == "workflows":
            body["workflow_id"] = self.component_id
            body["step_results"] = self.ctx.step_results
        else:
            body["agent_id"] = self.component_id
        return body

    def save(self, *, schedule_run_pk: int | None = None, target=None, status: str = "") -> None:
        """Write (or bring up to date) the run's AgentSession, Trace and Spans."""
        from scheduler_admin.models import AgentSession

        session_type = "workflow" if self.kind == "workflows" else "agent"
        AgentSession.objects.update_or_create(
            session_id=self.session_id,
            defaults={
                "session_type": session_type,
                "component_id": self.component_id,
                "session_name": str(self.message)[:255],
                "data": {f"{session_type}_id": self.component_id, "runs": [self.run_id]},
                "target": target,
                "created_at": self.created_at,
                "updated_at": now(),
            },
        )
        ids = {"workflow_id" if self.kind == "workflows" else "agent_id": self.component_id}
        fields = {"status": status or "UNSET"} if status or not self.done.is_set() else {}
        save_trace(
            self.ctx.recorder.snapshot(),
            trace_id=self.trace_id,
            name=self.component_id,
            run_id=self.run_id,
            session_id=self.session_id,
            source="local",
            schedule_run_id=schedule_run_pk,
            target=target,
            **ids,
            **fields,
        )


def prepare(
    kind: str, component_id: str, message: Any, *, session_id: str = "", idempotency_key: str = ""
) -> LocalRun:
    """A run not yet started. Raises UnknownComponent for an unregistered id."""
    lookup = registry.get_workflow if kind == "workflows" else registry.get_agent
    if lookup(component_id) is None:
        noun = "Workflow" if kind == "workflows" else "Agent"
        raise UnknownComponent(f"{noun} not found: {component_id}")
    ctx = RunContext(
        run_id=str(uuid.uuid4()),
        session_id=session_id or str(uuid.uuid4()),
        series_key=_ATTEMPT_SUFFIX.sub("", idempotency_key) if idempotency_key else "",
    )
    return LocalRun(kind=kind, component_id=component_id, message=message, ctx=ctx)


def start(run: LocalRun) -> threading.Thread:
    thread = threading.Thread(
        target=execute_in_thread, args=(run,), name=f"local-{run.run_id[:8]}", daemon=True
    )
    thread.start()
    return thread


def execute_in_thread(run: LocalRun) -> None:
    """``run.execute()`` in a thread of its own; user code may have used the database,
    so the thread's connection is closed at the end."""
    from django.db import connection

    try:
        run.execute()
    finally:
        connection.close()


# Runs served over HTTP, kept in this process for polling. The store lives in this
# process's memory, so polling /agentos/…/runs/<run_id> needs a single web process
# (one worker): a poll reaching another process answers 404 "Run not found".
# Beyond KEEP_RUNS, the oldest *finished* runs are forgotten; runs still going are
# never evicted (their poller would see a 404 and wait in vain).
KEEP_RUNS = 1000
_runs: dict[str, LocalRun] = {}
_runs_lock = threading.Lock()


def remember(run: LocalRun) -> None:
    """Keep ``run`` for polling; evict the oldest finished runs beyond KEEP_RUNS."""
    with _runs_lock:
        _runs[run.run_id] = run
        excess = len(_runs) - KEEP_RUNS
        if excess > 0:
            finished = [rid for rid, kept in _runs.items() if kept.done.is_set()]
            for run_id in finished[:excess]:
                del _runs[run_id]


def recall(run_id: str) -> LocalRun | None:
    with _runs_lock:
        return _runs.get(run_id)
