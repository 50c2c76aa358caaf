"""Which agents and workflows the in-process runtime serves.

The demo agents and workflows register themselves when agentos_bridge.runtime.demo
is imported; lookups import it once, so no AppConfig hook is needed.
"""

import threading
from collections.abc import Callable
from typing import Any

from agentos_bridge.runtime.pipeline import Workflow

_agents: dict[str, Callable[..., Any]] = {}
_workflows: dict[str, Workflow] = {}
_demo_loaded = False
_demo_lock = threading.RLock()  # re-entrant: the demo registers while loading


def register_agent(agent_id: str, fn: Callable[..., Any]) -> None:
    """An agent is a function: message in, content out (optionally taking the context)."""
    _agents[agent_id] = fn


def register_workflow(workflow_id: str, workflow: Workflow) -> None:
    _workflows[workflow_id] = workflow


def _load_demo() -> None:
    """Import the demo once; a concurrent first lookup waits until it is registered."""
    global _demo_loaded
    if _demo_loaded:
        return
    with _demo_lock:
        if not _demo_loaded:
            import agentos_bridge.runtime.demo  # noqa: F401 - registers on import

            _demo_loaded = True


def unregister(component_id: str) -> None:
    """Forget an agent or workflow (tests register their own and clean up)."""
    _agents.pop(component_id, None)
    _workflows.pop(component_id, None)


def get_agent(agent_id: str) -> Callable[..., Any] | None:
    _load_demo()
    return _agents.get(agent_id)


def get_workflow(workflow_id: str) -> Workflow | None:
    _load_demo()
    return _workflows.get(workflow_id)


def agent_ids() -> list[str]:
    _load_demo()
    return sorted(_agents)


def workflow_ids() -> list[str]:
    _load_demo()
    return sorted(_workflows)
