from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter
from pydantic import BaseModel, Field

from vixpro.incidents import settings as incident_settings
from vixpro.web.api.schemas import Strict
from vixpro.web.deps import PrincipalDep, StateDep

router = APIRouter(tags=["incident settings"])


class SettingsOut(BaseModel):
    group_window_s: int = Field(
        description="alerts from one server within this time group together"
    )
    auto_resolve: bool = Field(description="resolve an incident when all its alerts resolve")
    alert_budget: int | None = Field(description="per server per day; null means the plan's")
    plan_alert_budget: int
    storm_threshold: int = Field(description="more than this many alerts ...")
    storm_window_s: int = Field(description="... within this time from one server is a storm")
    storm_quiet_s: int = Field(description="a storm ends after this long without alerts")


class SettingsPatch(Strict):
    group_window_s: int | None = None
    auto_resolve: bool | None = None
    alert_budget: int | None = Field(default=None, description="null restores the plan's budget")
    storm_threshold: int | None = None
    storm_window_s: int | None = None
    storm_quiet_s: int | None = None


@router.get("/incident-settings", response_model=SettingsOut, summary="Grouping, budget, storms")
async def get_settings(principal: PrincipalDep, state: StateDep) -> SettingsOut:
    async with state.db.tenant_session(principal.org_id) as session:
        view = await incident_settings.get(session, principal)
    return SettingsOut(**asdict(view))


@router.patch("/incident-settings", response_model=SettingsOut, summary="Change them")
async def patch_settings(
    body: SettingsPatch, principal: PrincipalDep, state: StateDep
) -> SettingsOut:
    changes = body.model_dump(exclude_unset=True)
    async with state.db.tenant_session(principal.org_id) as session:
        view = await incident_settings.update(session, principal, changes)
    return SettingsOut(**asdict(view))
