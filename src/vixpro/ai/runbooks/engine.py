"""The offline runbook engine: pick the playbook for the incident's category and run it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from vixpro.ai.report import DiagnosisReport
from vixpro.ai.runbooks import (
    agent_offline,
    cpu,
    disk,
    dns,
    endpoint,
    fds,
    generic,
    memory,
    service,
    tls,
)
from vixpro.ai.runbooks.base import IncidentContext, ToolPort
from vixpro.ai.runbooks.categories import Category, categorise

log = logging.getLogger("vixpro.ai.runbooks")
Playbook = Callable[[IncidentContext, ToolPort], Awaitable[DiagnosisReport]]

PLAYBOOKS: dict[Category, Playbook] = {
    Category.DISK: disk.diagnose,
    Category.CPU: cpu.diagnose,
    Category.MEMORY: memory.diagnose,
    Category.SERVICE: service.diagnose,
    Category.ENDPOINT: endpoint.diagnose,
    Category.TLS: tls.diagnose,
    Category.DNS: dns.diagnose,
    Category.FDS: fds.diagnose,
    Category.AGENT_OFFLINE: agent_offline.diagnose,
    Category.GENERIC: generic.diagnose,
}
MIN_CONFIDENCE = 0.5  # below this a playbook's conclusion is escalated instead


async def diagnose(context: IncidentContext, tools: ToolPort) -> DiagnosisReport:
    category = categorise(context)
    engine = f"runbook:{category.value}"
    try:
        report = await PLAYBOOKS[category](context, tools)
    except Exception as exc:  # a playbook bug must not leave the incident without an answer
        log.exception("runbook %s failed", engine)
        return DiagnosisReport(
            summary="The runbook could not finish.",
            confidence=0.0,
            escalate=True,
            escalation_reason=f"the {engine} runbook failed: {type(exc).__name__}: {exc}",
            outcome="escalated",
            engine=engine,
        )
    if report.root_cause and report.confidence < MIN_CONFIDENCE:
        return report.model_copy(
            update={
                "root_cause": None,
                "escalate": True,
                "outcome": "escalated",
                "escalation_reason": f"low confidence ({report.confidence:g}): {report.root_cause}",
            }
        )
    return report


class _FirstCall(Exception):
    def __init__(self, tool: str, params: dict[str, Any]) -> None:
        super().__init__(tool)
        self.tool = tool
        self.params = params


class _StopAtFirstCall:
    """A tool port that runs nothing: it stops the playbook at its first call."""

    def __init__(self, available: frozenset[str]) -> None:
        self._available = available

    @property
    def available(self) -> frozenset[str]:
        return self._available

    async def run(self, tool: str, params: dict[str, Any]) -> Any:
        raise _FirstCall(tool, dict(params))


async def first_call(
    context: IncidentContext, available: frozenset[str]
) -> tuple[str, dict[str, Any]] | None:
    """The tool, with its parameters, that the incident's playbook would run first on a server
    offering ``available``; None when it would run none (it escalates before looking)."""
    try:
        await PLAYBOOKS[categorise(context)](context, _StopAtFirstCall(available))
    except _FirstCall as call:
        return call.tool, call.params
    except Exception:  # a playbook bug: the diagnosis goes on without this first look
        log.exception("runbook %s failed before its first tool", categorise(context).value)
    return None
