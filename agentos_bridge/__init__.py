"""How a run reaches an agent server: over HTTP, or in this process.

The engine calls :func:`execute` with a :class:`RunRequest` and gets an
:class:`Outcome` back; nothing here raises through the engine.
"""

from agentos_bridge.outcome import Outcome, RunRequest
from agentos_bridge.router import execute

__all__ = ["Outcome", "RunRequest", "execute"]
