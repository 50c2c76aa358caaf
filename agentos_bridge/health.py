"""The "test connection" check for a target: is the server up, what does it serve?"""

from typing import Any

from agentos_bridge import client
from agentos_bridge.client import CallError
from agentos_bridge.outcome import TargetInfo

CHECK_READ_TIMEOUT_S = 5.0


def check_target(target) -> dict[str, Any]:
    """Call /health, /agents and /workflows; return what was found or a readable error.

    ``{"ok": bool, "target", "base_url", "health", "agents": [ids], "workflows": [ids],
    "error"}``; the token is sent when configured and never part of the answer.
    """
    info = TargetInfo.of(target)
    result: dict[str, Any] = {
        "ok": False,
        "target": info.name,
        "base_url": client.shown_url(info.base_url),
        "health": None,
        "agents": [],
        "workflows": [],
        "error": "",
    }
    if info.is_local:
        from django.core.exceptions import ImproperlyConfigured

        from agentos_bridge.runtime import registry

        try:
            result.update(
                ok=True,
                health={"status": "ok", "runtime": "in-process (agno)"},
                agents=registry.ids("agents") + registry.ids("teams"),
                workflows=registry.ids("workflows"),
            )
        except ImproperlyConfigured as exc:
            result.update(ok=False, error=str(exc))
        return result
    if info.token_env and not client.token_for(info):
        result["warning"] = f"The environment variable {info.token_env} is not set."
    try:
        result["health"] = _get(info, "/health")
        result["agents"] = _ids(_get(info, "/agents"))
        result["workflows"] = _ids(_get(info, "/workflows"))
    except CallError as exc:
        result["error"] = str(exc)
        return result
    result["ok"] = True
    return result


def _get(info: TargetInfo, path: str) -> Any:
    response = client.send(
        info, "GET", path, idempotency_key="health-check", read_timeout_s=CHECK_READ_TIMEOUT_S
    )
    client.check_status(response, f"GET {path}", info)
    return client.parse_json(response, f"GET {path}", info)


def _ids(body: Any) -> list[str]:
    rows = body.get("data", []) if isinstance(body, dict) else body
    if not isinstance(rows, list):
        return []
    return [str(row.get("id")) for row in rows if isinstance(row, dict) and row.get("id")]
