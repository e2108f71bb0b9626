"""The run every provider test makes: one tool call, then structured output, through a real Agent."""

from __future__ import annotations

from pydantic import BaseModel
from pydantic_ai import Agent
from pydantic_ai.models import Model

from tests.fakes.llm_script import ScriptedServer
from vixpro.ai.failover import run_with_failover
from vixpro.ai.providers.base import ProviderSpec
from vixpro.ai.providers.registry import build_model


class Finding(BaseModel):
    summary: str
    confidence: float


FINDING = {"summary": "/var is full", "confidence": 0.9}


def script(fake: ScriptedServer) -> None:
    fake.tool_call("disk_usage", {"path": "/var"}, tokens_in=100, tokens_out=20)
    fake.final(FINDING)


def agent(model: Model, calls: list[str]) -> Agent[None, Finding]:
    diagnosis = Agent(model, output_type=Finding, instructions="Diagnose the server.")

    @diagnosis.tool_plain
    def disk_usage(path: str) -> str:
        """Disk usage of the filesystem holding ``path``."""
        calls.append(path)
        return f"{path}: 100% used"

    return diagnosis


async def run(spec: ProviderSpec, *, stream: bool = False) -> tuple[Finding, list[str], int, int]:
    """Output, the tool's calls, and tokens in/out as pydantic-ai counted them."""
    calls: list[str] = []
    diagnosis = agent(build_model(spec), calls)
    async with diagnosis:
        if stream:
            async with diagnosis.run_stream("web-1 is failing") as streamed:
                output = await streamed.get_output()
            usage = streamed.usage
        else:
            result = await diagnosis.run("web-1 is failing")
            output, usage = result.output, result.usage
    return output, calls, usage.input_tokens, usage.output_tokens


async def failure_reason(spec: ProviderSpec) -> str:
    """What failover says about ``spec`` when it fails (it must fail)."""
    reasons: list[str] = []

    async def on_switch(failed: ProviderSpec, reason: str) -> None:
        reasons.append(reason)

    async def attempt(model: Model, s: ProviderSpec) -> Finding:
        return (await agent(model, []).run("web-1 is failing")).output

    assert await run_with_failover([spec], attempt, on_switch) is None
    [reason] = reasons
    assert not spec.api_key or spec.api_key not in reason
    return reason
