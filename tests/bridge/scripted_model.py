"""A model that follows a script instead of calling a provider: no network, no key.

Its first answer calls the tools it was given (``calls``), its next answer is ``reply``;
enough for an agno Agent to run through AgentOS's code path with real tool calls.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from agno.models.base import Model
from agno.models.response import ModelResponse


@dataclass
class ScriptedModel(Model):
    id: str = "scripted"
    name: str = "ScriptedModel"
    provider: str = "test"
    calls: list[tuple[str, dict]] = field(default_factory=list)
    reply: str = "done"

    def _answer(self, messages: list | None = None, **kwargs: Any) -> ModelResponse:
        if not any(getattr(m, "role", "") == "tool" for m in messages or []):
            tool_calls = [
                {
                    "id": f"call_{index}",
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps(arguments)},
                }
                for index, (name, arguments) in enumerate(self.calls)
            ]
            if tool_calls:
                return ModelResponse(role="assistant", tool_calls=tool_calls)
        return ModelResponse(role="assistant", content=self.reply)

    def invoke(self, *args: Any, **kwargs: Any) -> ModelResponse:
        return self._answer(**kwargs)

    async def ainvoke(self, *args: Any, **kwargs: Any) -> ModelResponse:
        return self._answer(**kwargs)

    def invoke_stream(self, *args: Any, **kwargs: Any):
        yield self._answer(**kwargs)

    async def ainvoke_stream(self, *args: Any, **kwargs: Any):
        yield self._answer(**kwargs)

    def _parse_provider_response(self, response: Any, **kwargs: Any) -> ModelResponse:
        return response

    def _parse_provider_response_delta(self, response: Any) -> ModelResponse:
        return response
