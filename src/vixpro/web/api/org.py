from __future__ import annotations

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from vixpro.accounts import orgs, ratelimit, seats
from vixpro.accounts.errors import Forbidden
from vixpro.core.roles import Role
from vixpro.web.api.schemas import PlanOut, Strict
from vixpro.web.deps import PrincipalDep, StateDep

router = APIRouter(tags=["organisation"])


class OrgOut(BaseModel):
    id: UUID
    name: str
    plan_code: str
    created_at: datetime


class OrgPatch(Strict):
    name: str = Field(min_length=1, max_length=100)


class UsageOut(BaseModel):
    team_members: int
    stakeholders: int
    api_requests_this_hour: int


class PlanUsageOut(BaseModel):
    plan: PlanOut
    usage: UsageOut


@router.get("/org", response_model=OrgOut, summary="The caller's organisation")
async def get_org(principal: PrincipalDep, state: StateDep) -> OrgOut:
    async with state.db.tenant_session(principal.org_id) as session:
        org = await orgs.get(session, principal.org_id)
        return OrgOut(id=org.id, name=org.name, plan_code=org.plan_code, created_at=org.created_at)


@router.patch("/org", response_model=OrgOut, summary="Rename the organisation (owner or admin)")
async def patch_org(body: OrgPatch, principal: PrincipalDep, state: StateDep) -> OrgOut:
    if not principal.role.at_least(Role.ADMIN):
        raise Forbidden("only owners and admins rename the organisation")
    async with state.db.tenant_session(principal.org_id) as session:
        org = await orgs.rename(session, principal.actor, principal.org_id, body.name)
        return OrgOut(id=org.id, name=org.name, plan_code=org.plan_code, created_at=org.created_at)


@router.get("/plan", response_model=PlanUsageOut, summary="The plan's limits and current usage")
async def plan_usage(principal: PrincipalDep, state: StateDep) -> PlanUsageOut:
    async with state.db.tenant_session(principal.org_id) as session:
        team, stakeholders = await seats.seat_usage(session, include_pending=False)
        requests = await ratelimit.current_usage(session, state.requests.unspent(principal.org_id))
    return PlanUsageOut(
        plan=PlanOut.of(principal.plan),
        usage=UsageOut(
            team_members=team, stakeholders=stakeholders, api_requests_this_hour=requests
        ),
    )
