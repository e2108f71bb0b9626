"""Plans as stored (staff may edit them) and the usage counted against them."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.accounts import audit
from vixpro.accounts.errors import InvalidInput, NotFound
from vixpro.accounts.principal import Actor
from vixpro.core.plans import PlanLimits
from vixpro.db.models import Organisation, Plan

EDITABLE = (
    "name",
    "price_cents",
    "max_servers",
    "max_team_members",
    "max_stakeholders",
    "alert_triage",
    "auto_remediation",
    "priority_support",
    "api_requests_per_hour",
    "alert_budget_per_server_day",
    "max_concurrent_reactive_agents",
)


def limits_of(plan: Plan) -> PlanLimits:
    return PlanLimits(
        code=plan.code,
        name=plan.name,
        price_cents=plan.price_cents,
        billing=plan.billing,
        max_servers=plan.max_servers,
        max_team_members=plan.max_team_members,
        max_stakeholders=plan.max_stakeholders,
        alert_triage=plan.alert_triage,
        auto_remediation=plan.auto_remediation,
        priority_support=plan.priority_support,
        api_requests_per_hour=plan.api_requests_per_hour,
        alert_budget_per_server_day=plan.alert_budget_per_server_day,
        max_concurrent_reactive_agents=plan.max_concurrent_reactive_agents,
    )


async def list_plans(session: AsyncSession) -> list[PlanLimits]:
    rows = (await session.scalars(select(Plan).order_by(Plan.price_cents, Plan.code))).all()
    return [limits_of(row) for row in rows]


async def get_plan(session: AsyncSession, code: str) -> Plan:
    plan = await session.get(Plan, code)
    if plan is None:
        raise InvalidInput("plan", f"no plan named {code!r}")
    return plan


async def org_plan(session: AsyncSession, org_id: uuid.UUID) -> PlanLimits:
    row = (
        await session.execute(
            select(Plan)
            .join(Organisation, Organisation.plan_code == Plan.code)
            .where(Organisation.id == org_id)
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("organisation")
    return limits_of(row)


async def update_plan(
    session: AsyncSession, actor: Actor, code: str, changes: dict[str, Any]
) -> PlanLimits:
    """Staff edit a plan (system session). Unknown fields and negative numbers are refused."""
    plan = await session.get(Plan, code)
    if plan is None:
        raise NotFound("plan")
    before = asdict(limits_of(plan))
    for field, value in changes.items():
        if field not in EDITABLE:
            raise InvalidInput(field, "is not an editable plan field")
        current = getattr(plan, field)
        if isinstance(current, bool):
            if not isinstance(value, bool):
                raise InvalidInput(field, "must be true or false")
        elif isinstance(current, int):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidInput(field, "must be a whole number of 0 or more")
            if field == "max_team_members" and value < 1:
                raise InvalidInput(field, "must be at least 1 (the owner)")
        elif not isinstance(value, str) or not value.strip():
            raise InvalidInput(field, "must be non-empty text")
        setattr(plan, field, value)
    plan.updated_at = func.now()
    await session.flush()
    after = limits_of(plan)
    changed = {k: [before[k], v] for k, v in asdict(after).items() if before[k] != v}
    await audit.record(
        session,
        actor,
        "plan.updated",
        org_id=None,
        target_type="plan",
        target_id=code,
        details={"changes": changed},
    )
    return after
