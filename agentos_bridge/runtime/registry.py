"""Which agno agents, teams and workflows the local runtime serves.

``settings.LOCAL_AGNO_APP`` is an import path, ``"package.module:name"``, naming either
the project's AgentOS object (its ``agents``, ``teams`` and ``workflows`` are served) or
a list of agno Agents, Teams and Workflows. The same module then runs unchanged on a
real AgentOS (``AgentOS(workflows=...)``) and here. Loaded once, on first lookup.
Tests add their own components with :func:`register` and remove them with
:func:`unregister`.
"""

import importlib
import threading
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KINDS = ("agents", "teams", "workflows")

_components: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
_loaded = False
_load_lock = threading.RLock()


def kind_of(component: Any) -> str:
    """``agents``, ``teams`` or ``workflows`` for an agno component."""
    from agno.agent import Agent
    from agno.team import Team
    from agno.workflow import Workflow

    for cls, kind in ((Workflow, "workflows"), (Team, "teams"), (Agent, "agents")):
        if isinstance(component, cls):
            return kind
    raise ImproperlyConfigured(
        f"LOCAL_AGNO_APP: {type(component).__name__} is not an agno Agent, Team or Workflow"
    )


def component_id(component: Any) -> str:
    """The id AgentOS serves a component under: its ``id``, else its name."""
    found = getattr(component, "id", None) or getattr(component, "name", None)
    if not found:
        raise ImproperlyConfigured(f"LOCAL_AGNO_APP: a {type(component).__name__} has no id")
    return str(found)


def register(component: Any) -> None:
    """Serve an agno Agent, Team or Workflow (replacing one with the same id)."""
    _components[kind_of(component)][component_id(component)] = component


def unregister(component_id_: str) -> None:
    for components in _components.values():
        components.pop(component_id_, None)


def components_of(app: Any) -> list[Any]:
    """The components of an AgentOS object, or the items of a list."""
    if isinstance(app, list | tuple):
        return list(app)
    found = [c for kind in KINDS for c in (getattr(app, kind, None) or [])]
    if not found and not any(hasattr(app, kind) for kind in KINDS):
        raise ImproperlyConfigured(
            "LOCAL_AGNO_APP must name an AgentOS or a list of agno Agents, Teams and Workflows"
        )
    return found


def load(path: str) -> Any:
    """The object an import path ``module:name`` names."""
    module_name, _, name = path.partition(":")
    if not module_name or not name:
        raise ImproperlyConfigured(f"LOCAL_AGNO_APP={path!r}: expected 'package.module:name'")
    try:
        return getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as exc:
        raise ImproperlyConfigured(f"LOCAL_AGNO_APP={path!r}: {exc}") from exc


def _ensure_loaded() -> None:
    """Import the configured app once; a concurrent first lookup waits for it."""
    global _loaded
    if _loaded:
        return
    with _load_lock:
        if _loaded:
            return
        path = getattr(settings, "LOCAL_AGNO_APP", "")
        if path:
            for component in components_of(load(path)):
                # Components a test registered first keep their place.
                kind = kind_of(component)
                _components[kind].setdefault(component_id(component), component)
        _loaded = True


def get(kind: str, component_id_: str) -> Any | None:
    _ensure_loaded()
    return _components.get(kind, {}).get(component_id_)


def ids(kind: str) -> list[str]:
    _ensure_loaded()
    return sorted(_components.get(kind, {}))
