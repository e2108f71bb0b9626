"""The diagnosis report: what the runbook engine and the LLM agent both conclude with."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

Risk = Literal["read", "mutate"]
Outcome = Literal["diagnosed", "resolved_by_remediation", "escalated"]


class Evidence(BaseModel):
    """One finding, tied to the tool execution it was read from (None: not from a tool)."""

    execution_id: uuid.UUID | None = None
    tool: str
    finding: str = Field(min_length=1)


class RecommendedAction(BaseModel):
    """A tool run that would fix or confirm the diagnosis; never run by the engine itself."""

    tool: str
    params: dict[str, Any] = Field(default_factory=dict)
    reason: str = Field(min_length=1)
    risk: Risk


class RemediationStep(BaseModel):
    """A recommended ``mutate`` action the platform ran, and what its verification read."""

    tool: str
    params: dict[str, Any] = Field(default_factory=dict)
    execution_id: uuid.UUID | None = None
    status: str  # the execution's final status: succeeded, failed, denied, expired, refused
    verify_tool: str | None = None
    verify_execution_id: uuid.UUID | None = None
    held: bool | None = None  # None: not verified (the action did not run)
    detail: str = ""


class DiagnosisReport(BaseModel):
    summary: str = Field(min_length=1)
    root_cause: str | None = None
    confidence: float = Field(ge=0.0, le=1.0)
    evidence: list[Evidence] = Field(default_factory=list)
    recommended_actions: list[RecommendedAction] = Field(default_factory=list)
    escalate: bool
    escalation_reason: str | None = None
    outcome: Outcome
    engine: str = Field(min_length=1)
    # Which provider and model wrote it (None: the offline runbook engine).
    provider: str | None = None
    model: str | None = None
    remediation: list[RemediationStep] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> DiagnosisReport:
        if self.escalate and not self.escalation_reason:
            raise ValueError("an escalated report must give its escalation_reason")
        if self.root_cause and not self.evidence:
            raise ValueError("a root cause needs at least one evidence item")
        if self.escalate != (self.outcome == "escalated"):
            raise ValueError("escalate and outcome 'escalated' go together")
        return self
