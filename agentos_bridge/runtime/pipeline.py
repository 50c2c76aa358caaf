"""Typed pipelines for the in-process runtime: each step's output is the next one's input.

A step function takes the input, and optionally the :class:`RunContext` as a second
argument; it returns the output. Every node records a span (nested for Parallel,
Loop, Router and Condition) in the context's recorder.
"""

import inspect
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from agentos_bridge.spans import SpanRecorder


@dataclass
class RunContext:
    run_id: str
    session_id: str
    # Shared by all attempts of one scheduled time (the Idempotency-Key without its
    # attempt number): the flaky demo counts failures per series.
    series_key: str = ""
    recorder: SpanRecorder = field(default_factory=SpanRecorder)
    step_results: list[dict] = field(default_factory=list)


def call(fn: Callable, value: Any, ctx: RunContext) -> Any:
    """Call a step or agent function with the context if it takes a second argument."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        params = {}
    return fn(value, ctx) if len(params) >= 2 else fn(value)


class Node:
    name: str
    kind = "Step"

    def run(self, value: Any, ctx: RunContext) -> Any:
        with ctx.recorder.span(self.name, "STEP", input=value, step_type=self.kind) as span:
            try:
                output = self._run(value, ctx)
            except Exception as exc:
                ctx.step_results.append(_result(self, None, f"{exc}"))
                raise
            span.finish(output=output)
            ctx.step_results.append(_result(self, output, ""))
            return output

    def _run(self, value: Any, ctx: RunContext) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


def _result(node: Node, content: Any, error: str) -> dict:
    return {
        "step_name": node.name,
        "step_type": node.kind,
        "executor_type": "function",
        "content": content,
        "success": not error,
        "error": error or None,
    }


class Step(Node):
    def __init__(self, name: str, fn: Callable):
        self.name, self.fn = name, fn

    def _run(self, value: Any, ctx: RunContext) -> Any:
        return call(self.fn, value, ctx)


class Steps(Node):
    """Nodes in order; used for the branches of Router and Loop and for workflows."""

    kind = "Steps"

    def __init__(self, name: str, steps: Sequence[Node]):
        self.name, self.steps = name, list(steps)

    def _run(self, value: Any, ctx: RunContext) -> Any:
        for step in self.steps:
            value = step.run(value, ctx)
        return value


class Parallel(Node):
    """Run steps concurrently (threads) on the same input; output {step name: output}."""

    kind = "Parallel"

    def __init__(self, name: str, *steps: Node):
        self.name, self.steps = name, list(steps)

    def _run(self, value: Any, ctx: RunContext) -> Any:
        parent = ctx.recorder.current_parent()

        def branch(step: Node) -> Any:
            from django.db import connection

            ctx.recorder.adopt(parent)
            try:
                return step.run(value, ctx)
            finally:
                connection.close()  # user code may have opened this thread's connection

        with ThreadPoolExecutor(max_workers=len(self.steps)) as pool:
            futures = {step.name: pool.submit(branch, step) for step in self.steps}
            return {name: future.result() for name, future in futures.items()}


class Loop(Node):
    """Repeat the body until ``until(output)`` holds or ``max_iterations`` is reached."""

    kind = "Loop"

    def __init__(self, name: str, body: Node, until: Callable[[Any], bool], max_iterations=3):
        self.name, self.body, self.until, self.max_iterations = name, body, until, max_iterations

    def _run(self, value: Any, ctx: RunContext) -> Any:
        for _ in range(self.max_iterations):
            value = self.body.run(value, ctx)
            if self.until(value):
                break
        return value


class Router(Node):
    """Pick one branch by name from the input: ``choose(input) -> branch name``."""

    kind = "Router"

    def __init__(self, name: str, choose: Callable[[Any], str], branches: dict[str, Node]):
        self.name, self.choose, self.branches = name, choose, branches

    def _run(self, value: Any, ctx: RunContext) -> Any:
        picked = self.choose(value)
        if picked not in self.branches:
            known = ", ".join(sorted(self.branches))
            raise ValueError(f"Router {self.name} picked {picked!r}; branches are {known}")
        return self.branches[picked].run(value, ctx)


class Condition(Node):
    """Run the step only if ``predicate(input)`` holds; otherwise pass the input on."""

    kind = "Condition"

    def __init__(self, name: str, predicate: Callable[[Any], bool], step: Node):
        self.name, self.predicate, self.step = name, predicate, step

    def _run(self, value: Any, ctx: RunContext) -> Any:
        return self.step.run(value, ctx) if self.predicate(value) else value


class Workflow:
    def __init__(self, id: str, steps: Sequence[Node], name: str = "", description: str = ""):
        self.id, self.name, self.description = id, name or id, description
        self.steps = list(steps)

    def run(self, value: Any, ctx: RunContext) -> Any:
        with ctx.recorder.span(self.name, "WORKFLOW", input=value, workflow_id=self.id) as span:
            for step in self.steps:
                value = step.run(value, ctx)
            span.finish(output=value)
            return value
