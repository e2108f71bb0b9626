"""An organisation's AI settings: auto-remediation, the confidence threshold, the tool budget.

Auto-remediation runs only where the plan includes it *and* an owner or admin turned it on;
it is off by default.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.accounts import audit
from vixpro.accounts.errors import Forbidden, InvalidInput
from vixpro.accounts.plans import org_plan
from vixpro.accounts.principal import Principal
from vixpro.ai.agent import DEFAULT_CONFIDENCE_THRESHOLD
from vixpro.ai.tooling import DEFAULT_BUDGET
from vixpro.core.roles import Role
from vixpro.db.models.agent import AiSettings


@dataclass(frozen=True, slots=True)
class AiSettingsView:
    auto_remediation: bool  # what the organisation chose
    plan_allows_remediation: bool
    confidence_threshold: float
    tool_call_budget: int

    @property
    def remediation_on(self) -> bool:
        return self.auto_remediation and self.plan_allows_remediation


BUDGET_RANGE = (1, 200)


def _view(row: AiSettings | None, plan_allows: bool) -> AiSettingsView:
    if row is None:
        return AiSettingsView(False, plan_allows, DEFAULT_CONFIDENCE_THRESHOLD, DEFAULT_BUDGET)
    return AiSettingsView(
        row.auto_remediation, plan_allows, row.confidence_threshold, row.tool_call_budget
    )


async def for_org(session: AsyncSession, org_id: uuid.UUID) -> AiSettingsView:
    """The settings as a job sees them (tenant session of ``org_id``)."""
    plan = await org_plan(session, org_id)
    return _view(await session.get(AiSettings, org_id), plan.auto_remediation)


async def get(session: AsyncSession, principal: Principal) -> AiSettingsView:
    row = await session.get(AiSettings, principal.org_id)
    return _view(row, principal.plan.auto_remediation)


async def update(
    session: AsyncSession, principal: Principal, changes: dict[str, Any]
) -> AiSettingsView:
    if not principal.role.at_least(Role.ADMIN):
        raise Forbidden("only owners and admins change AI settings")
    threshold = changes.get("confidence_threshold")
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise InvalidInput("confidence_threshold", "must be between 0 and 1")
    budget = changes.get("tool_call_budget")
    low, high = BUDGET_RANGE
    if budget is not None and not low <= budget <= high:
        raise InvalidInput("tool_call_budget", f"must be between {low} and {high}")
    if changes.get("auto_remediation") and not principal.plan.auto_remediation:
        raise InvalidInput(
            "auto_remediation", f"the {principal.plan.name} plan does not include auto-remediation"
        )
    row = await session.get(AiSettings, principal.org_id)
    if row is None:
        row = AiSettings(
            org_id=principal.org_id,
            auto_remediation=False,
            confidence_threshold=DEFAULT_CONFIDENCE_THRESHOLD,
            tool_call_budget=DEFAULT_BUDGET,
            updated_by=principal.label,
        )
        session.add(row)
    for name, value in changes.items():
        if value is not None:
            setattr(row, name, value)
    row.updated_by = principal.label
    row.updated_at = func.now()
    await session.flush()
    view = _view(row, principal.plan.auto_remediation)
    await audit.record(
        session,
        principal.actor,
        "ai_settings.updated",
        org_id=principal.org_id,
        details=asdict(view),
    )
    return view
