"""A real AgentOS for the bridge's integration tests: function-step workflows, no model.

Started by tests/bridge/conftest.py as ``uvicorn tests.bridge.agentos_app:app``; the
SQLite file comes from the AGENTOS_TEST_DB environment variable.
"""

import asyncio
import collections
import os
import re
import time

from agno.agent import Agent
from agno.db.sqlite import SqliteDb
from agno.media import Audio, Image
from agno.os import AgentOS
from agno.team import Team
from agno.tools import tool
from agno.workflow import Step, Workflow
from agno.workflow.types import HumanReview, StepInput, StepOutput

from tests.bridge.scripted_model import ScriptedModel


def research(step_input: StepInput) -> StepOutput:
    return StepOutput(content=f"notes on {step_input.input}")


def outline(step_input: StepInput) -> StepOutput:
    return StepOutput(content=f"outline of ({step_input.previous_step_content})")


def draft(step_input: StepInput) -> StepOutput:
    return StepOutput(content=f"draft from ({step_input.previous_step_content})")


def explode(step_input: StepInput) -> StepOutput:
    raise RuntimeError("the source feed is down")


async def dawdle(step_input: StepInput) -> StepOutput:
    # Async, so the server's event loop keeps answering polls meanwhile.
    await asyncio.sleep(float(os.environ.get("AGENTOS_TEST_SLOW_S", "5")))
    return StepOutput(content="finally")


def prepare(step_input: StepInput) -> StepOutput:
    return StepOutput(content=f"digest of {step_input.input}")


def publish(step_input: StepInput) -> StepOutput:
    return StepOutput(content=f"published ({step_input.previous_step_content})")


def charge(step_input: StepInput) -> StepOutput:
    given = (step_input.additional_data or {}).get("user_input") or {}
    return StepOutput(content=f"charged {given.get('amount')} to {given.get('account')}")


def _png() -> bytes:
    """A valid 1x1 red PNG."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _silence(seconds: float = 0.1, rate: int = 8000) -> bytes:
    import io
    import wave

    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"\0\0" * int(seconds * rate))
    return out.getvalue()


def illustrate(step_input: StepInput) -> StepOutput:
    return StepOutput(
        content="a picture and a sound",
        images=[Image(content=_png(), mime_type="image/png")],
        audio=[Audio(content=_silence(), mime_type="audio/wav")],
    )


@tool(requires_confirmation=True)
def send_emails(count: int) -> str:
    """Send the newsletter to ``count`` readers (asks a person first)."""
    return f"sent {count} emails"


db = SqliteDb(db_file=os.environ.get("AGENTOS_TEST_DB", "/tmp/agentos-test.db"))

workflows = [
    Workflow(
        id="digest",
        name="Digest",
        db=db,
        steps=[
            Step(name="research", executor=research),
            Step(name="outline", executor=outline),
            Step(name="draft", executor=draft),
        ],
    ),
    Workflow(
        id="broken",
        name="Broken",
        db=db,
        steps=[Step(name="explode", executor=explode, max_retries=0)],
    ),
    Workflow(id="slow", name="Slow", db=db, steps=[Step(name="dawdle", executor=dawdle)]),
    Workflow(id="media", name="Media", db=db, steps=[Step(name="illustrate", executor=illustrate)]),
    # Human in the loop: a step that asks for a confirmation, one that asks for input.
    Workflow(
        id="publish",
        name="Publish",
        db=db,
        steps=[
            Step(name="prepare", executor=prepare),
            Step(
                name="publish",
                executor=publish,
                human_review=HumanReview(
                    requires_confirmation=True, confirmation_message="Publish the digest?"
                ),
            ),
        ],
    ),
    Workflow(
        id="charge",
        name="Charge",
        db=db,
        steps=[
            Step(
                name="charge",
                executor=charge,
                human_review=HumanReview(
                    requires_user_input=True,
                    user_input_message="Which account should be charged?",
                    user_input_schema=[
                        {"name": "account", "field_type": "str", "description": "Account"},
                        {"name": "amount", "field_type": "int", "description": "In cents"},
                    ],
                ),
            ),
        ],
    ),
]

# An agent whose tool needs a person's confirmation (the model is scripted: no key).
mailer = Agent(
    id="mailer",
    name="Mailer",
    db=db,
    model=ScriptedModel(calls=[("send_emails", {"count": 40})], reply="newsletter handled"),
    tools=[send_emails],
)

# The same tool on a team's own model.
mail_team = Team(
    id="mail-team",
    name="Mail team",
    db=db,
    members=[Agent(id="helper", name="Helper", model=ScriptedModel(reply="helped"))],
    model=ScriptedModel(calls=[("send_emails", {"count": 40})], reply="newsletter handled"),
    tools=[send_emails],
)

agent_os = AgentOS(
    id="bridge-tests",
    agents=[mailer],
    teams=[mail_team],
    workflows=workflows,
    db=db,
    tracing=True,
)
app = agent_os.get_app()


# What the tests count on the server's side, and the faults they ask for.
COUNTS: collections.Counter = collections.Counter()
FAULTS = {"slow_answers": 0, "slow_answer_s": 0.0}
ARRIVALS: dict[str, float] = {}  # when each attempt's first submit arrived (wall clock)
RUN_SUBMIT = re.compile(r"^/(agents|teams|workflows)/[^/]+/runs$")
RUN_CANCEL = re.compile(r"^/(agents|teams|workflows)/[^/]+/runs/[^/]+/cancel$")
RUN_CONTINUE = re.compile(r"^/(agents|teams|workflows)/[^/]+/runs/([^/]+)/continue$")


@app.middleware("http")
async def count_and_fault(request, call_next):
    """Count run submits (by Idempotency-Key), cancels and continues; delay the answer of the next
    ``slow_answers`` submits by ``slow_answer_s`` *after* the run was accepted, as a
    network that loses the answer would."""
    path, key = request.url.path, request.headers.get("idempotency-key", "")
    submit = request.method == "POST" and RUN_SUBMIT.match(path)
    if submit:
        COUNTS[f"submit:{key}"] += 1
        COUNTS["submits"] += 1
        ARRIVALS.setdefault(key, time.time())
    if request.method == "POST" and RUN_CANCEL.match(path):
        COUNTS[f"cancel:{key}"] += 1
    resumed = request.method == "POST" and RUN_CONTINUE.match(path)
    response = await call_next(request)
    if resumed:  # per agent run id: every try, and the ones the server took
        COUNTS[f"continue-tried:{resumed.group(2)}"] += 1
        if response.status_code < 300:
            COUNTS[f"continue:{resumed.group(2)}"] += 1
    if submit and FAULTS["slow_answers"] > 0:
        FAULTS["slow_answers"] -= 1
        await asyncio.sleep(FAULTS["slow_answer_s"])
    return response


@app.get("/test/counts")
async def counts():
    return dict(COUNTS)


@app.post("/test/faults")
async def faults(slow_answers: int = 0, slow_answer_s: float = 0.0):
    FAULTS.update(slow_answers=slow_answers, slow_answer_s=slow_answer_s)
    return FAULTS


@app.get("/test/arrivals")
async def arrivals():
    return ARRIVALS
