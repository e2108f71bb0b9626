"""What a playbook works with: the incident, a port to run read tools, and its notebook."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from vixpro.ai.report import DiagnosisReport, Evidence, RecommendedAction


@dataclass(frozen=True)
class ToolOutcome:
    """One tool run as a playbook sees it; ``output`` is the tool's structured JSON output."""

    execution_id: uuid.UUID | None
    tool: str
    ok: bool
    output: Any
    error: str | None = None
    error_kind: str | None = None


class ToolPort(Protocol):
    """Runs tools on the incident's server (the host agent, or the tools in-process)."""

    @property
    def available(self) -> frozenset[str]:
        """The names of the tools this server offers and this organisation has enabled."""
        ...

    async def run(self, tool: str, params: dict[str, Any]) -> ToolOutcome: ...


@dataclass(frozen=True)
class IncidentContext:
    title: str
    description: str = ""
    severity: str = "warning"
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)

    def text(self) -> str:
        """Everything written about the incident, for matching."""
        parts = [self.title, self.description, *self.labels.values(), *self.annotations.values()]
        return "\n".join(p for p in parts if p)

    def label(self, *names: str) -> str | None:
        """The first non-empty label, then annotation, of the given names."""
        for source in (self.labels, self.annotations):
            for name in names:
                value = source.get(name)
                if value and value.strip():
                    return value.strip()
        return None


class Investigation:
    """One playbook run: the tools it ran, what it found, and how it ends."""

    def __init__(self, engine: str, tools: ToolPort) -> None:
        self.engine = engine
        self.tools = tools
        self.evidence: list[Evidence] = []
        self.problems: list[str] = []

    async def run(self, tool: str, params: dict[str, Any] | None = None) -> ToolOutcome | None:
        """The tool's successful outcome, or None with the reason noted in ``problems``."""
        if tool not in self.tools.available:
            self.problems.append(f"the {tool} tool is not available on this server")
            return None
        outcome = await self.tools.run(tool, dict(params or {}))
        if not outcome.ok or not isinstance(outcome.output, dict):
            kind = f" ({outcome.error_kind})" if outcome.error_kind else ""
            error = outcome.error or "no structured output"
            self.problems.append(f"{tool} failed{kind}: {error}")
            return None
        return outcome

    def found(self, outcome: ToolOutcome, finding: str) -> None:
        self.evidence.append(
            Evidence(execution_id=outcome.execution_id, tool=outcome.tool, finding=finding)
        )

    def conclude(
        self,
        summary: str,
        root_cause: str,
        confidence: float,
        actions: list[RecommendedAction] | None = None,
    ) -> DiagnosisReport:
        return DiagnosisReport(
            summary=summary,
            root_cause=root_cause,
            confidence=confidence,
            evidence=list(self.evidence),
            recommended_actions=list(actions or []),
            escalate=False,
            escalation_reason=None,
            outcome="diagnosed",
            engine=self.engine,
        )

    def escalate(
        self,
        summary: str,
        reason: str | None = None,
        actions: list[RecommendedAction] | None = None,
    ) -> DiagnosisReport:
        """Hand the incident to a person; tool problems met on the way are part of the reason."""
        reasons = [r for r in (reason, *self.problems) if r]
        return DiagnosisReport(
            summary=summary,
            root_cause=None,
            confidence=0.0,
            evidence=list(self.evidence),
            recommended_actions=list(actions or []),
            escalate=True,
            escalation_reason="; ".join(reasons) or "the evidence does not support a root cause",
            outcome="escalated",
            engine=self.engine,
        )


def read(tool: str, params: dict[str, Any], reason: str) -> RecommendedAction:
    """A read tool a person (or the agent) could run next."""
    return RecommendedAction(tool=tool, params=params, reason=reason, risk="read")


def mutate(tool: str, params: dict[str, Any], reason: str) -> RecommendedAction:
    return RecommendedAction(tool=tool, params=params, reason=reason, risk="mutate")


def human_bytes(value: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"
