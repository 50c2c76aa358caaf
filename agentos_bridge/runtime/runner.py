"""Run one agno agent, team or workflow in this process, the way AgentOS runs it.

AgentOS serves ``POST …/runs`` with ``background=true`` by calling the component's
``arun(background=True)`` on a fresh copy and answers polls from the component's
database; :class:`LocalRun` does the same in a thread with its own event loop, so a
workflow module behaves here as on an AgentOS (same steps, same span names). A component
without a database gets an in-memory one for the run: our durable record is the
session, trace and artifact rows written by :meth:`LocalRun.save`; only a run that
pauses for a person is kept beyond it (pauses.py), and a run made by
:func:`prepare_continue` continues it with the answer, as AgentOS's ``…/continue`` does.

The caller joins with a deadline and may :meth:`LocalRun.cancel`; ``save`` is called
from the caller's thread, the only one that writes our tables.
"""

import asyncio
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agentos_bridge.runtime import pauses, registry, tracing
from agentos_bridge.spans import now, records_from_tree, save_trace

_ATTEMPT_SUFFIX = re.compile(r"-\d+$")
TERMINAL = {"COMPLETED", "ERROR", "CANCELLED", "PAUSED"}
SESSION_TYPES = {"agents": "agent", "teams": "team", "workflows": "workflow"}


class UnknownComponent(LookupError):
    pass


@dataclass
class LocalRun:
    kind: str  # agents | teams | workflows
    component_id: str
    message: Any
    session_id: str
    # Shared by all attempts of one scheduled time (the Idempotency-Key without its
    # attempt number); workflow steps find it in ``step_input.additional_data``.
    series_key: str = ""
    status: str = "PENDING"  # then agno's: RUNNING, COMPLETED, ERROR, CANCELLED, PAUSED
    error: str = ""
    run_id: str = ""
    body: dict | None = None  # the run output, as AgentOS's GET …/runs/{run_id} has it
    created_at: datetime = field(default_factory=now)
    started: threading.Event = field(default_factory=threading.Event)  # run_id is known
    done: threading.Event = field(default_factory=threading.Event)
    collector: tracing.Collector = field(default_factory=tracing.Collector)
    # Set for a continuation: the paused run's answered step requirements (dicts).
    answered: list | None = None
    _component: Any = None
    _in_store: bool = False  # the run lives in the pause store (pauses.py)
    _loop: asyncio.AbstractEventLoop | None = None

    def execute(self) -> None:
        """Run to the end (in whichever thread calls this); never raises."""
        tracing.ensure_instrumented()
        token = tracing.current_collector.set(self.collector)
        try:
            asyncio.run(self._main())
        except asyncio.CancelledError:
            self.status, self.error = "CANCELLED", "The run was cancelled"
        except Exception as exc:  # noqa: BLE001 - the run's error, reported as its outcome
            self.status, self.error = "ERROR", f"{type(exc).__name__}: {exc}"
        finally:
            tracing.current_collector.reset(token)
            self.started.set()
            self.done.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        original = registry.get(self.kind, self.component_id)
        # A fresh copy per run, as AgentOS makes one per request (create_fresh=True).
        component = original.deep_copy()
        own_db = component.db is None
        if own_db and self.answered is not None:
            component.db, self._in_store = pauses.store(), True
        elif own_db:
            from agno.db.in_memory import InMemoryDb

            component.db = InMemoryDb()
        self._component = component
        if self.answered is not None:
            await self._continue(component)
        else:
            extra = {"additional_data": {"series_key": self.series_key}}
            pending = await component.arun(
                input=self.message,
                session_id=self.session_id,
                background=True,
                stream=False,
                **(extra if self.kind == "workflows" else {}),
            )
            self.run_id = pending.run_id
            self.status = "RUNNING"
            self.started.set()
            this = asyncio.current_task()
            await asyncio.gather(*(task for task in asyncio.all_tasks() if task is not this))
        output = await component.aget_run_output(run_id=self.run_id, session_id=self.session_id)
        self.body = output.to_dict() if output is not None else None
        status = str((self.body or {}).get("status") or "ERROR").upper()
        self.status = status if status in TERMINAL else "ERROR"
        if self.status == "ERROR":
            self.error = str((self.body or {}).get("content") or "The run ended in ERROR")
        if self.status == "PAUSED" and own_db and not self._in_store:
            # Waiting for a person: kept beyond this worker, for whoever continues it.
            pauses.keep(original, component, self.session_id, output)
            self._in_store = True

    async def _continue(self, component: Any) -> None:
        """The answer goes back as AgentOS's ``POST …/continue`` sends it: the answered
        step requirements, to ``acontinue_run`` of the run stored when it paused."""
        from agno.workflow.types import StepRequirement

        requirements = [StepRequirement.from_dict(item) for item in self.answered or []]
        self.status = "RUNNING"
        self.started.set()
        await component.acontinue_run(
            run_id=self.run_id,
            session_id=self.session_id,
            step_requirements=requirements,
            stream=False,
        )

    def release(self) -> None:
        """Once the run has ended for good (and was saved), drop it from the pause store."""
        if self._in_store and self.done.is_set() and self.status != "PAUSED":
            try:
                pauses.forget(self.session_id)
            except Exception:  # noqa: BLE001, S110 - a leftover session is harmless
                pass

    def cancel(self) -> None:
        """Ask agno to stop the run and cancel its tasks (a step blocking in plain
        Python code runs on until it returns; its thread is a daemon)."""
        component, loop = self._component, self._loop
        if component is not None and self.run_id:
            try:
                component.cancel_run(self.run_id)
            except Exception:  # noqa: BLE001, S110 - best effort, the outcome is already timeout
                pass
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(_cancel_all_tasks)

    def as_agentos(self) -> dict:
        """The run as AgentOS's GET /…/runs/{run_id} answers it."""
        if self.body is not None:
            return self.body
        body = {
            "run_id": self.run_id,
            "session_id": self.session_id,
            "status": self.status,
            "input": self.message,
            "content": None,
            "error": self.error or None,
            "created_at": int(self.created_at.timestamp()),
        }
        body[f"{SESSION_TYPES[self.kind]}_id"] = self.component_id
        return body

    def save(self, *, schedule_run_pk: int | None = None, target=None, status: str = "") -> None:
        """Write (or bring up to date) the run's AgentSession, Trace and Spans."""
        self._save_session(target)
        detail, open_ids = tracing.trace_detail(self.collector)
        if detail is None:
            return
        spans = records_from_tree(detail.get("tree") or [])
        for span in spans:
            if span.span_id in open_ids:
                span.end_time, span.status, span.output = None, "UNSET", ""
        finished = self.done.is_set() and not open_ids
        fields = {}
        if status or not finished:
            fields["status"] = status or "UNSET"
        ids = {f"{SESSION_TYPES[self.kind]}_id": self.component_id}
        save_trace(
            spans,
            trace_id=detail["trace_id"],
            name=str(detail.get("name") or self.component_id)[:255],
            run_id=self.run_id,
            session_id=self.session_id,
            source="local",
            schedule_run_id=schedule_run_pk,
            target=target,
            **ids,
            **fields,
        )

    def _save_session(self, target) -> None:
        from scheduler_admin.models import AgentSession

        session_type = SESSION_TYPES[self.kind]
        stored = None
        if self._component is not None:
            try:
                stored = self._component.get_session(session_id=self.session_id)
            except Exception:  # noqa: BLE001 - the run's own session is enough
                stored = None
        data = stored.to_dict() if stored is not None else {}
        session_data = data.get("session_data") or {}
        AgentSession.objects.update_or_create(
            session_id=self.session_id,
            defaults={
                "session_type": session_type,
                "component_id": self.component_id[:128],
                "session_name": str(session_data.get("session_name") or self.message)[:255],
                "user_id": str(data.get("user_id") or "")[:128],
                "session_state": session_data.get("session_state"),
                "data": data.get(f"{session_type}_data")
                or {f"{session_type}_id": self.component_id, "runs": [self.run_id]},
                "target": target,
                "created_at": _epoch(data.get("created_at")) or self.created_at,
                "updated_at": _epoch(data.get("updated_at")) or now(),
            },
        )


def _cancel_all_tasks() -> None:
    for task in asyncio.all_tasks():
        task.cancel()


def _epoch(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int | float) else None


def prepare(
    kind: str, component_id: str, message: Any, *, session_id: str = "", idempotency_key: str = ""
) -> LocalRun:
    """A run not yet started. Raises UnknownComponent for an unregistered id."""
    if registry.get(kind, component_id) is None:
        noun = {"agents": "Agent", "teams": "Team", "workflows": "Workflow"}[kind]
        raise UnknownComponent(f"{noun} not found: {component_id}")
    return LocalRun(
        kind=kind,
        component_id=component_id,
        message=message,
        session_id=session_id or str(uuid.uuid4()),
        series_key=_ATTEMPT_SUFFIX.sub("", idempotency_key),
    )


def prepare_continue(
    kind: str, component_id: str, run_id: str, session_id: str, answered: list
) -> LocalRun:
    """A continuation of the paused workflow run ``run_id`` with its answered step
    requirements, not yet started. Raises UnknownComponent as :func:`prepare`."""
    if kind != "workflows" or registry.get(kind, component_id) is None:
        noun = {"agents": "Agent", "teams": "Team", "workflows": "Workflow"}[kind]
        raise UnknownComponent(f"{noun} not found or not continuable here: {component_id}")
    return LocalRun(
        kind=kind,
        component_id=component_id,
        message="",
        session_id=session_id,
        run_id=run_id,
        answered=list(answered),
    )


def start(run: LocalRun) -> threading.Thread:
    thread = threading.Thread(
        target=execute_in_thread, args=(run,), name=f"local-{run.component_id}", daemon=True
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
