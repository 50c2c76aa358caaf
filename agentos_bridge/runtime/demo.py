"""Demo agents and workflows of the in-process runtime (``make run`` schedules them).

Registered on import; agentos_bridge.runtime.registry imports this module on first lookup.
"""

import threading
import time
from typing import Any

from agentos_bridge.runtime.pipeline import (
    Condition,
    Loop,
    Parallel,
    Router,
    RunContext,
    Step,
    Steps,
    Workflow,
)
from agentos_bridge.runtime.registry import register_agent, register_workflow

FLAKY_FAILURES = 2  # the flaky agent fails this many attempts of each scheduled time
SLOW_STEP_S = 4.0

_flaky_lock = threading.Lock()
_flaky_attempts: dict[str, int] = {}


def echo_agent(message: Any) -> str:
    return f"You said: {message}"


def flaky_agent(message: Any, ctx: RunContext) -> str:
    """Fails the first FLAKY_FAILURES attempts of a series (all attempts of one scheduled
    time share it), so retries by policy end in success."""
    key = ctx.series_key or ctx.session_id
    with _flaky_lock:
        attempt = _flaky_attempts[key] = _flaky_attempts.get(key, 0) + 1
    if attempt <= FLAKY_FAILURES:
        raise ConnectionError(f"upstream flaked (attempt {attempt} of {FLAKY_FAILURES + 1})")
    return f"Succeeded on attempt {attempt}: {message}"


def research(topic: Any) -> str:
    return f"notes on {topic}"


def outline(notes: str) -> str:
    return f"outline of ({notes})"


def draft(text: str) -> str:
    return f"draft from ({text})"


def improve(text: Any) -> dict:
    """One pass of the quality loop: each pass raises the score by 0.3."""
    if isinstance(text, dict):
        return {"text": text["text"] + " (revised)", "score": round(text["score"] + 0.3, 2)}
    return {"text": str(text), "score": 0.3}


def slow_stage(value: Any) -> Any:
    time.sleep(SLOW_STEP_S)  # read at call time, so tests can shorten it
    return value


def _topic_kind(message: Any) -> str:
    return "news" if "news" in str(message).lower() else "general"


register_agent("echo", echo_agent)
register_agent("flaky", flaky_agent)
register_workflow(
    "digest",
    Workflow(
        "digest",
        [Step("research", research), Step("outline", outline), Step("draft", draft)],
        name="Daily digest",
        description="Research, outline, draft.",
    ),
)
register_workflow(
    "fan-out",
    Workflow(
        "fan-out",
        [
            Parallel(
                "gather",
                Step("web", lambda q: f"web results for {q}"),
                Step("papers", lambda q: f"papers about {q}"),
                Step("news", lambda q: f"news on {q}"),
            ),
            Step("merge", lambda found: " | ".join(found[k] for k in sorted(found))),
        ],
        name="Parallel fan-out",
    ),
)
register_workflow(
    "quality-loop",
    Workflow(
        "quality-loop",
        [
            Loop(
                "refine",
                Step("improve", improve),
                until=lambda d: d["score"] >= 0.8,
                max_iterations=5,
            ),
            Condition("polish", lambda d: d["score"] >= 0.8, Step("publish", lambda d: d["text"])),
        ],
        name="Loop until quality >= 0.8",
    ),
)
register_workflow(
    "router",
    Workflow(
        "router",
        [
            Router(
                "route",
                _topic_kind,
                {
                    "news": Steps("news-desk", [Step("headline", lambda m: f"HEADLINE: {m}")]),
                    "general": Steps("general-desk", [Step("summary", lambda m: f"summary: {m}")]),
                },
            )
        ],
        name="Route by topic",
    ),
)
register_workflow(
    "slow",
    Workflow(
        "slow",
        [Step(f"stage-{i}", slow_stage) for i in range(1, 6)],
        name="Slow pipeline (shows live progress)",
    ),
)
