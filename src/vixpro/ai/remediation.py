"""Auto-remediation: a diagnosis's recommended ``mutate`` actions run, then are verified.

Only where the plan includes auto-remediation and the organisation turned it on (see
:mod:`vixpro.ai.settings`). Each action goes through the platform's runner like any tool call
— the organisation's permissions, then its approval rule (waiting up to the reactive area's
timeout) — then the relevant read tool runs again and the model compares the readings before
and after to say whether the fix held. The incident's report records each step; it is
"resolved by remediation" only when every action that ran held.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field
from pydantic_ai import Agent
from pydantic_ai.models import Model

from vixpro.accounts.principal import SYSTEM, Actor
from vixpro.ai import prompts, usage
from vixpro.ai.failover import classify
from vixpro.ai.providers.base import ProviderSpec
from vixpro.ai.report import DiagnosisReport, RecommendedAction, RemediationStep
from vixpro.ai.tooling import EventSink, ToolBridge, bounded
from vixpro.core.approvals import Area
from vixpro.db.models import Manifest, ToolExecution
from vixpro.db.sessions import Database
from vixpro.tools.executions import Runner

ParamsOf = Callable[[dict[str, Any]], dict[str, Any]]


def _none(params: dict[str, Any]) -> dict[str, Any]:
    return {}


# The read tool that shows whether each mutating tool's fix held, and its parameters.
VERIFY: dict[str, tuple[str, ParamsOf]] = {
    "delete_old_files": ("disk_usage", _none),
    "truncate_log_file": ("disk_usage", _none),
    "restart_service": ("systemd_service_status", lambda p: {"unit": p["unit"]}),
    "restart_docker_container": ("docker_containers", lambda p: {"all": True}),
    "signal_process": ("top_processes_cpu", _none),
    "package_upgrades": ("package_updates_available", _none),
}


class Verdict(BaseModel):
    held: bool = Field(description="true when the problem is gone after the fix")
    explanation: str = Field(min_length=1)


def _verification_prompt(
    report: DiagnosisReport, action: RecommendedAction, before: Any, after: Any
) -> str:
    return (
        f"Problem: {report.root_cause or report.summary}\n"
        f"Fix applied: {action.tool} {action.params}\n"
        f"Reading before the fix:\n{bounded(before, 3000)}\n"
        f"Reading after the fix:\n{bounded(after, 3000)}"
    )


async def _reading_before(
    runner: Runner, org_id: uuid.UUID, report: DiagnosisReport, tool: str
) -> Any:
    """The output of ``tool`` that the diagnosis cited, if it cited one."""
    for item in report.evidence:
        if item.tool == tool and item.execution_id is not None:
            row: ToolExecution = await runner.get(org_id, item.execution_id)
            return row.output
    return "(not read during the diagnosis)"


async def remediate(
    db: Database,
    runner: Runner,
    manifest: Manifest,
    org_id: uuid.UUID,
    server_id: uuid.UUID,
    incident_id: uuid.UUID,
    report: DiagnosisReport,
    *,
    model: Model,
    spec: ProviderSpec | None = None,
    approval_wait_s: float | None = None,
    on_event: EventSink | None = None,
) -> DiagnosisReport:
    """Run ``report``'s recommended mutate actions and verify each; the updated report. The
    verdicts' tokens are recorded against ``spec`` (the provider that diagnosed)."""
    bridge = await ToolBridge.open(
        runner,
        manifest,
        org_id,
        server_id,
        actor=Actor(SYSTEM.type, None, "AI agent (remediation)"),
        area=Area.REACTIVE,
        incident_id=incident_id,
        approval_wait_s=approval_wait_s,
        on_event=on_event,
    )
    steps: list[RemediationStep] = []
    for action in report.recommended_actions:
        if action.risk != "mutate":
            continue
        if action.tool not in bridge.views:
            steps.append(
                RemediationStep(
                    tool=action.tool,
                    params=action.params,
                    status="refused",
                    detail=f"the {action.tool} tool is not enabled for this organisation",
                )
            )
            continue
        ran, told = await bridge.execute(action.tool, action.params)
        if ran is None or ran.status != "succeeded":
            steps.append(
                RemediationStep(
                    tool=action.tool,
                    params=action.params,
                    execution_id=ran.execution_id if ran else None,
                    status=ran.status if ran else "refused",
                    detail=told.splitlines()[-1][:500],
                )
            )
            continue
        step, tokens = await _verify(
            bridge, runner, org_id, report, action, ran.execution_id, model
        )
        steps.append(step)
        if spec is not None and tokens != (0, 0):
            async with db.tenant_session(org_id) as session:
                await usage.record(
                    session,
                    org_id,
                    area="reactive",
                    spec=spec,
                    tokens_in=tokens[0],
                    tokens_out=tokens[1],
                    incident_id=incident_id,
                )
    held = bool(steps) and all(step.held for step in steps)
    return report.model_copy(
        update={
            "remediation": steps,
            "outcome": "resolved_by_remediation"
            if held and not report.escalate
            else report.outcome,
        }
    )


async def _verify(
    bridge: ToolBridge,
    runner: Runner,
    org_id: uuid.UUID,
    report: DiagnosisReport,
    action: RecommendedAction,
    execution_id: uuid.UUID,
    model: Model,
) -> tuple[RemediationStep, tuple[int, int]]:
    """The step, and the tokens (in, out) the verdict took."""
    verify_tool, params_of = VERIFY.get(action.tool, (None, _none))
    if verify_tool is None or verify_tool not in bridge.views:
        return RemediationStep(
            tool=action.tool,
            params=action.params,
            execution_id=execution_id,
            status="succeeded",
            detail="no read tool can verify this fix",
        ), (0, 0)
    before = await _reading_before(runner, org_id, report, verify_tool)
    check, _ = await bridge.execute(verify_tool, params_of(action.params))
    if check is None or check.status != "succeeded":
        return RemediationStep(
            tool=action.tool,
            params=action.params,
            execution_id=execution_id,
            status="succeeded",
            verify_tool=verify_tool,
            verify_execution_id=check.execution_id if check else None,
            detail=f"the verification could not run ({check.status if check else 'refused'})",
        ), (0, 0)
    judge: Agent[None, Verdict] = Agent(model, output_type=Verdict, instructions=prompts.VERIFY)
    try:
        result = await judge.run(_verification_prompt(report, action, before, check.output))
    except Exception as exc:
        reason = classify(exc)
        if reason is None:
            raise
        return RemediationStep(
            tool=action.tool,
            params=action.params,
            execution_id=execution_id,
            status="succeeded",
            verify_tool=verify_tool,
            verify_execution_id=check.execution_id,
            detail=f"the provider could not judge the verification: {reason}",
        ), (0, 0)
    verdict, used = result.output, result.usage
    return RemediationStep(
        tool=action.tool,
        params=action.params,
        execution_id=execution_id,
        status="succeeded",
        verify_tool=verify_tool,
        verify_execution_id=check.execution_id,
        held=verdict.held,
        detail=verdict.explanation,
    ), (used.input_tokens or 0, used.output_tokens or 0)
