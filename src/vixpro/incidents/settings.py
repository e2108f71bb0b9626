"""An organisation's ingestion settings: group window, auto-resolve, budget, storm thresholds."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.accounts import audit
from vixpro.accounts.errors import Forbidden, InvalidInput
from vixpro.accounts.principal import Principal
from vixpro.core.roles import Role
from vixpro.db.models import IncidentSettings


@dataclass(frozen=True, slots=True)
class SettingsView:
    group_window_s: int
    auto_resolve: bool
    alert_budget: int | None  # None: the plan's budget
    plan_alert_budget: int
    storm_threshold: int
    storm_window_s: int
    storm_quiet_s: int


LIMITS: dict[str, tuple[int, int]] = {
    "group_window_s": (30, 86_400),
    "storm_threshold": (2, 10_000),
    "storm_window_s": (60, 3_600),
    "storm_quiet_s": (60, 86_400),
}


async def get(session: AsyncSession, principal: Principal) -> SettingsView:
    row = await session.get(IncidentSettings, principal.org_id)
    return _view(row, principal.plan.alert_budget_per_server_day)


def _view(row: IncidentSettings | None, plan_budget: int) -> SettingsView:
    if row is None:
        return SettingsView(300, True, None, plan_budget, 20, 300, 600)
    return SettingsView(
        row.group_window_s,
        row.auto_resolve,
        row.alert_budget,
        plan_budget,
        row.storm_threshold,
        row.storm_window_s,
        row.storm_quiet_s,
    )


async def update(
    session: AsyncSession, principal: Principal, changes: dict[str, Any]
) -> SettingsView:
    if not principal.role.at_least(Role.ADMIN):
        raise Forbidden("only owners and admins change incident settings")
    plan_budget = principal.plan.alert_budget_per_server_day
    for name, (low, high) in LIMITS.items():
        value = changes.get(name)
        if value is not None and not low <= value <= high:
            raise InvalidInput(name, f"must be between {low} and {high}")
    if "alert_budget" in changes and changes["alert_budget"] is not None:
        budget = changes["alert_budget"]
        if not 0 <= budget <= plan_budget:
            raise InvalidInput(
                "alert_budget",
                f"may be lowered, not raised: between 0 and the plan's {plan_budget} per server per day",
            )
    row = await session.get(IncidentSettings, principal.org_id)
    if row is None:
        row = IncidentSettings(
            org_id=principal.org_id,
            group_window_s=300,
            auto_resolve=True,
            storm_threshold=20,
            storm_window_s=300,
            storm_quiet_s=600,
        )
        session.add(row)
    for name, value in changes.items():
        if name == "alert_budget" or value is not None:
            setattr(row, name, value)
    await session.flush()
    view = _view(row, plan_budget)
    await audit.record(
        session,
        principal.actor,
        "incident_settings.updated",
        org_id=principal.org_id,
        details=asdict(view),
    )
    return view
