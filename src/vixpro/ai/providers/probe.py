""" "Test connection": one tiny request through the real SDK, to show that a key and model work."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic_ai import Agent
from pydantic_ai.models import Model
from pydantic_ai.settings import ModelSettings

from vixpro.ai.failover import run_with_failover
from vixpro.ai.providers.base import ProviderSpec

PROMPT = "This is a connection test. Reply with the single word OK."


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    # VixPro's reason when it failed (never the provider's message, which can echo the key).
    reason: str | None
    reply: str
    tokens_in: int
    tokens_out: int


async def probe(spec: ProviderSpec) -> ProbeResult:
    async def attempt(model: Model, s: ProviderSpec) -> ProbeResult:
        result = await Agent(model).run(PROMPT, model_settings=ModelSettings(max_tokens=16))
        usage = result.usage
        return ProbeResult(
            True, None, str(result.output)[:200], usage.input_tokens, usage.output_tokens
        )

    failures: list[str] = []

    async def on_switch(s: ProviderSpec, reason: str) -> None:
        failures.append(reason)

    outcome = await run_with_failover([spec], attempt, on_switch)
    if outcome is None:
        return ProbeResult(False, failures[0] if failures else "failed", "", 0, 0)
    return outcome[0]
