"""The demo: agno workflows of function steps (no model, no key), served by the local
target (``LOCAL_AGNO_APP = "agentos_bridge.runtime.demo:workflows"``) and, unchanged, by a
real AgentOS: ``AgentOS(workflows=demo.workflows, db=..., tracing=True)``.

One per row of the pattern table: sequential (digest), Parallel (fan-out), Loop with an
end condition and a Condition (quality-loop), Router (router); and cross-modal chaining:
narrated-digest (draft → speech) and code-narration (a file of code → explanation →
speech), spoken by espeak-ng (agentos_bridge.runtime.speech). Plus flaky (fails its first
attempts: watch the retries), slow (live progress) and publish-digest (a step that asks a
person "Publish the digest?" and waits in the approvals inbox).
"""

import ast
import asyncio
import threading
from pathlib import Path

from agno.workflow import Condition, Loop, Parallel, Router, Step, Workflow
from agno.workflow.types import HumanReview, OnError, StepInput, StepOutput

from agentos_bridge.runtime.speech import speak

FLAKY_FAILURES = 2  # the flaky workflow fails this many attempts of each scheduled time
SLOW_STEP_S = 4.0
QUALITY_GOAL = 0.8
# code-narration explains files of this project only (the message is a relative path).
CODE_ROOT = Path(__file__).resolve().parents[2]
MAX_CODE_BYTES = 200_000

STOP_ON_ERROR = HumanReview(on_error=OnError.fail)

_flaky_lock = threading.Lock()
_flaky_attempts: dict[str, int] = {}


def research(step_input: StepInput) -> StepOutput:
    return StepOutput(content=f"notes on {step_input.input}")


def outline(step_input: StepInput) -> StepOutput:
    return StepOutput(content=f"outline of ({step_input.previous_step_content})")


def draft(step_input: StepInput) -> StepOutput:
    return StepOutput(content=f"draft from ({step_input.previous_step_content})")


def _source(name: str):
    def search(step_input: StepInput) -> StepOutput:
        return StepOutput(content=f"{name} results for {step_input.input}")

    search.__name__ = f"search_{name}"
    return search


def merge(step_input: StepInput) -> StepOutput:
    found = step_input.get_step_output("gather")
    parts = [s.content for s in (found.steps or [])] if found else []
    return StepOutput(content=" | ".join(sorted(str(p) for p in parts)))


def improve(step_input: StepInput) -> StepOutput:
    """One pass of the quality loop: each pass raises the score by 0.3."""
    previous = step_input.previous_step_content
    if isinstance(previous, dict) and "score" in previous:
        text, score = previous["text"] + " (revised)", previous["score"] + 0.3
    else:
        text, score = str(step_input.input), 0.3
    return StepOutput(content={"text": text, "score": round(score, 2)})


def good_enough(outputs: list[StepOutput]) -> bool:
    last = outputs[-1].content if outputs else None
    return isinstance(last, dict) and last.get("score", 0) >= QUALITY_GOAL


def last_revision(step_input: StepInput) -> dict:
    """The loop's last output (the loop's own content is agno's summary of it)."""
    loop = step_input.get_step_output("refine")
    last = loop.steps[-1].content if loop and loop.steps else None
    return last if isinstance(last, dict) else {"text": "", "score": 0}


def passed_review(step_input: StepInput) -> bool:
    return last_revision(step_input)["score"] >= QUALITY_GOAL


def publish(step_input: StepInput) -> StepOutput:
    return StepOutput(content=f"published: {last_revision(step_input)['text']}")


def headline(step_input: StepInput) -> StepOutput:
    return StepOutput(content=f"HEADLINE: {step_input.input}")


def summary(step_input: StepInput) -> StepOutput:
    return StepOutput(content=f"summary: {step_input.input}")


news_desk = Step(name="news-desk", executor=headline)
general_desk = Step(name="general-desk", executor=summary)


def pick_desk(step_input: StepInput) -> list[Step]:
    return [news_desk if "news" in str(step_input.input).lower() else general_desk]


def flaky(step_input: StepInput) -> StepOutput:
    """Fails the first FLAKY_FAILURES attempts of a series (the attempts of one scheduled
    time share it, through the run's additional data), so retries by policy succeed."""
    key = str((step_input.additional_data or {}).get("series_key") or step_input.input)
    with _flaky_lock:
        attempt = _flaky_attempts[key] = _flaky_attempts.get(key, 0) + 1
    if attempt <= FLAKY_FAILURES:
        raise ConnectionError(f"upstream flaked (attempt {attempt} of {FLAKY_FAILURES + 1})")
    return StepOutput(content=f"Succeeded on attempt {attempt}: {step_input.input}")


async def slow_stage(step_input: StepInput) -> StepOutput:
    # Async: a timeout cancels it mid-sleep. SLOW_STEP_S is read at call time (tests).
    await asyncio.sleep(SLOW_STEP_S)
    return StepOutput(content=step_input.previous_step_content or step_input.input)


def publish_digest(step_input: StepInput) -> StepOutput:
    """Runs only once a person approved it (the step's human review)."""
    return StepOutput(content=f"Published: {step_input.previous_step_content}")


def read_code(step_input: StepInput) -> StepOutput:
    """The Python file named by the message, relative to the project (never outside it)."""
    relative = str(step_input.input or "").strip() or "agentos_bridge/runtime/speech.py"
    path = (CODE_ROOT / relative).resolve()
    if not path.is_relative_to(CODE_ROOT) or not path.is_file():
        raise FileNotFoundError(f"No file {relative!r} in the project")
    # Python source only: never a settings, environment or database file read out loud.
    hidden = any(part.startswith(".") for part in path.relative_to(CODE_ROOT).parts)
    if path.suffix != ".py" or hidden:
        raise PermissionError(f"{relative} is not a Python source file of the project")
    if path.stat().st_size > MAX_CODE_BYTES:
        raise ValueError(f"{relative} is larger than {MAX_CODE_BYTES} bytes")
    return StepOutput(content={"path": relative, "code": path.read_text(errors="replace")})


def explain_code(step_input: StepInput) -> StepOutput:
    """A spoken-style explanation of a Python file: its purpose and what it defines."""
    found = step_input.previous_step_content
    tree = ast.parse(found["code"])
    module_doc = (ast.get_docstring(tree) or "").split("\n\n")[0].replace("\n", " ")
    sentences = [f"The file {found['path']}."]
    if module_doc:
        sentences.append(module_doc)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            kind = "class" if isinstance(node, ast.ClassDef) else "function"
            doc = (ast.get_docstring(node) or "").split("\n")[0]
            sentences.append(f"The {kind} {node.name}" + (f": {doc}" if doc else "."))
    return StepOutput(content=" ".join(sentences))


digest_steps = [
    Step(name="research", executor=research),
    Step(name="outline", executor=outline),
    Step(name="draft", executor=draft),
]

workflows = [
    Workflow(
        id="digest",
        name="Daily digest",
        description="Research, outline, draft.",
        steps=digest_steps,
    ),
    Workflow(
        id="narrated-digest",
        name="Narrated digest",
        description="The digest, then spoken: text to speech.",
        steps=[*digest_steps, Step(name="speak", executor=speak)],
    ),
    Workflow(
        id="code-narration",
        name="Code narration",
        description="Explains a file of code, then speaks the explanation.",
        steps=[
            # A file that cannot be read ends the run: nothing to explain or speak.
            Step(name="read", executor=read_code, max_retries=0, human_review=STOP_ON_ERROR),
            Step(name="explain", executor=explain_code, max_retries=0),
            Step(name="speak", executor=speak),
        ],
    ),
    Workflow(
        id="fan-out",
        name="Parallel fan-out",
        description="Three sources searched in parallel, then merged.",
        steps=[
            Parallel(
                Step(name="web", executor=_source("web")),
                Step(name="papers", executor=_source("papers")),
                Step(name="news", executor=_source("news")),
                name="gather",
            ),
            Step(name="merge", executor=merge),
        ],
    ),
    Workflow(
        id="quality-loop",
        name="Loop until quality >= 0.8",
        description="Revises until the score reaches 0.8; publishes only if it did.",
        steps=[
            Loop(
                name="refine",
                steps=[Step(name="improve", executor=improve)],
                end_condition=good_enough,
                max_iterations=5,
                forward_iteration_output=True,
            ),
            Condition(
                name="review",
                evaluator=passed_review,
                steps=[Step(name="publish", executor=publish)],
            ),
        ],
    ),
    Workflow(
        id="router",
        name="Route by topic",
        description="News to the news desk, the rest to the general desk.",
        steps=[Router(name="route", selector=pick_desk, choices=[news_desk, general_desk])],
    ),
    Workflow(
        id="flaky",
        name="Flaky upstream",
        description="Fails its first two attempts, then succeeds.",
        steps=[Step(name="call-upstream", executor=flaky, max_retries=0)],
    ),
    Workflow(
        id="publish-digest",
        name="Digest, published after a person approves",
        description="Drafts the digest, then asks: publish it? Rejected: not published.",
        steps=[
            *digest_steps,
            Step(
                name="publish",
                executor=publish_digest,
                human_review=HumanReview(
                    requires_confirmation=True, confirmation_message="Publish the digest?"
                ),
            ),
        ],
    ),
    Workflow(
        id="slow",
        name="Slow pipeline (shows live progress)",
        steps=[Step(name=f"stage-{i}", executor=slow_stage) for i in range(1, 6)],
    ),
]
