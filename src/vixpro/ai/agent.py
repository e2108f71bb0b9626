"""The AI agent loop: a pydantic-ai ``Agent`` on one server's tools, concluding with a report.

The model investigates through the :class:`~vixpro.ai.tooling.ToolBridge` (the server's enabled
tools, the tool-call budget, approvals, bounded output) and answers with a
:class:`Conclusion`. Evidence must cite executions of this run and recommended actions must
name real tools, or the model is asked to correct itself. Below the organisation's confidence
threshold the report escalates rather than asserts.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field
from pydantic_ai import Agent, ModelRetry, RunContext, UsageLimits
from pydantic_ai.exceptions import UsageLimitExceeded
from pydantic_ai.models import Model

from vixpro.ai import prompts
from vixpro.ai.report import DiagnosisReport, Evidence, RecommendedAction
from vixpro.ai.tooling import ToolBridge
from vixpro.tools.catalogue import tool_spec

DEFAULT_CONFIDENCE_THRESHOLD = 0.6
DIAGNOSIS_TIME_LIMIT_S = 600.0  # the seed: ten minutes per diagnosis


class CitedEvidence(BaseModel):
    ref: str = Field(description="the ref of the tool result (E1, E2, ...)")
    finding: str = Field(min_length=1, description="what that result shows")


class ProposedAction(BaseModel):
    tool: str = Field(description="a tool name")
    params: dict[str, Any] = Field(default_factory=dict, description="its exact parameters")
    reason: str = Field(min_length=1)


class Conclusion(BaseModel):
    """What the model concludes a diagnosis with."""

    summary: str = Field(min_length=1, description="one or two sentences for the on-call")
    root_cause: str | None = Field(default=None, description="null when unknown")
    confidence: float = Field(ge=0.0, le=1.0)
    evidence: list[CitedEvidence] = Field(default_factory=list)
    recommended_actions: list[ProposedAction] = Field(default_factory=list)
    escalate: bool = False
    escalation_reason: str | None = None


@dataclass(frozen=True)
class AgentOutcome:
    """A finished run: the report and the tokens it used (for the usage table)."""

    report: DiagnosisReport
    tokens_in: int
    tokens_out: int


def _check(bridge: ToolBridge, conclusion: Conclusion) -> None:
    """Ask the model to correct evidence or actions that point at nothing real."""
    for item in conclusion.evidence:
        if item.ref not in bridge.ran:
            raise ModelRetry(
                f"evidence cites ref {item.ref!r}, which is not one of this run's tool results "
                f"({', '.join(bridge.ran) or 'none yet'})"
            )
    for action in conclusion.recommended_actions:
        if tool_spec(bridge.manifest, action.tool) is None:
            raise ModelRetry(f"recommended action names an unknown tool {action.tool!r}")
    if conclusion.root_cause and not conclusion.evidence:
        raise ModelRetry("a root cause needs at least one evidence item citing a ref")
    if conclusion.escalate and not conclusion.escalation_reason:
        raise ModelRetry("an escalation needs its escalation_reason")


def to_report(
    bridge: ToolBridge,
    conclusion: Conclusion,
    *,
    threshold: float,
    provider: str,
    model: str,
) -> DiagnosisReport:
    """The stored report: evidence tied to executions, actions with their risk, and escalation
    when the model is unsure (below ``threshold``) or said so."""
    evidence = [
        Evidence(
            execution_id=bridge.ran[item.ref].execution_id,
            tool=bridge.ran[item.ref].tool,
            finding=item.finding,
        )
        for item in conclusion.evidence
        if item.ref in bridge.ran
    ]
    actions = []
    for action in conclusion.recommended_actions:
        spec = tool_spec(bridge.manifest, action.tool)
        if spec is not None:
            actions.append(
                RecommendedAction(
                    tool=action.tool, params=action.params, reason=action.reason, risk=spec["risk"]
                )
            )
    escalate, reason = conclusion.escalate, conclusion.escalation_reason
    root_cause = conclusion.root_cause if evidence else None
    if not escalate and conclusion.confidence < threshold:
        # Unsure: escalate, and offer the cause as a lead rather than assert it.
        escalate = True
        lead = f": {root_cause}" if root_cause else ""
        reason = (
            f"confidence {conclusion.confidence:.0%} is below the organisation's threshold of "
            f"{threshold:.0%}; the most likely cause, for a person to confirm{lead}"
        )
        root_cause = None
    return DiagnosisReport(
        summary=conclusion.summary,
        root_cause=root_cause,
        confidence=conclusion.confidence,
        evidence=evidence,
        recommended_actions=actions,
        escalate=escalate,
        escalation_reason=reason if escalate else None,
        outcome="escalated" if escalate else "diagnosed",
        engine=f"llm:{provider}",
        provider=provider,
        model=model,
    )


def _stopped(bridge: ToolBridge, why: str, provider: str, model: str) -> DiagnosisReport:
    return DiagnosisReport(
        summary=f"The diagnosis stopped before a conclusion: {why}.",
        confidence=0.0,
        escalate=True,
        escalation_reason=why,
        outcome="escalated",
        engine=f"llm:{provider}",
        provider=provider,
        model=model,
    )


def diagnosis_agent(model: Model, bridge: ToolBridge) -> Agent[None, Conclusion]:
    agent: Agent[None, Conclusion] = Agent(
        model,
        output_type=Conclusion,
        instructions=prompts.DIAGNOSIS,
        tools=bridge.tools(),
        retries=2,
    )

    @agent.output_validator
    def _validate(ctx: RunContext[None], conclusion: Conclusion) -> Conclusion:
        _check(bridge, conclusion)
        return conclusion

    return agent


async def diagnose(
    model: Model,
    bridge: ToolBridge,
    prompt: str,
    *,
    provider: str,
    model_name: str,
    threshold: float = DEFAULT_CONFIDENCE_THRESHOLD,
    time_limit_s: float = DIAGNOSIS_TIME_LIMIT_S,
) -> AgentOutcome:
    """Run the agent loop to a report. Provider failures (HTTP errors, timeouts, refused
    connections) propagate, so the caller can fail over; running out of budget or time ends
    in an escalated report."""
    agent = diagnosis_agent(model, bridge)
    # Each model request can ask for several tools; the bridge enforces the tool budget and
    # tells the model, so this limit is only the backstop for a model that never concludes.
    limits = UsageLimits(request_limit=bridge.budget + 10)
    try:
        async with asyncio.timeout(time_limit_s):
            result = await agent.run(prompt, usage_limits=limits)
    except UsageLimitExceeded:
        why = f"the model kept asking after its budget of {bridge.budget} tool calls was spent"
        return AgentOutcome(_stopped(bridge, why, provider, model_name), 0, 0)
    except TimeoutError:
        why = f"the diagnosis time limit of {time_limit_s / 60:g} minutes passed"
        return AgentOutcome(_stopped(bridge, why, provider, model_name), 0, 0)
    usage = result.usage
    report = to_report(
        bridge, result.output, threshold=threshold, provider=provider, model=model_name
    )
    return AgentOutcome(report, usage.input_tokens or 0, usage.output_tokens or 0)
