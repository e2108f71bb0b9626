"""The staff console's API: cross-organisation, for platform staff signed in to the dashboard."""

from __future__ import annotations

import secrets
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel

from vixpro.accounts import auth, plans, staff
from vixpro.accounts.principal import Actor
from vixpro.web.api.schemas import PlanOut, Strict
from vixpro.web.deps import SAFE_METHODS, SESSION_COOKIE, StateDep, client_ip
from vixpro.web.problems import ApiError

router = APIRouter(prefix="/staff", tags=["staff"])


async def staff_actor(request: Request, state: StateDep) -> Actor:
    token = request.cookies.get(SESSION_COOKIE)
    signed_in = None
    if token:
        async with state.db.system_session("authenticate staff session") as session:
            signed_in = await auth.resolve_session(session, token, client_ip(request))
    if signed_in is None:
        raise ApiError(401, "sign in to the dashboard as platform staff", type_="unauthenticated")
    if not signed_in.is_staff:
        raise ApiError(403, "platform staff only", type_="forbidden")
    if request.method not in SAFE_METHODS and not secrets.compare_digest(
        request.headers.get("x-csrf-token", "").encode(), signed_in.csrf_token.encode()
    ):
        raise ApiError(403, "missing or wrong X-CSRF-Token header", type_="csrf")
    return Actor("staff", signed_in.user_id, signed_in.email, client_ip(request))


StaffDep = Annotated[Actor, Depends(staff_actor)]


class OrgSummaryOut(BaseModel):
    id: UUID
    name: str
    plan_code: str
    members: int


class PlanAssign(Strict):
    plan: str


class PlanPatch(Strict):
    name: str | None = None
    price_cents: int | None = None
    max_servers: int | None = None
    max_team_members: int | None = None
    max_stakeholders: int | None = None
    alert_triage: bool | None = None
    auto_remediation: bool | None = None
    priority_support: bool | None = None
    api_requests_per_hour: int | None = None
    alert_budget_per_server_day: int | None = None
    max_concurrent_reactive_agents: int | None = None


@router.get("/orgs", response_model=list[OrgSummaryOut], summary="Every organisation (audited)")
async def list_orgs(actor: StaffDep, state: StateDep) -> list[OrgSummaryOut]:
    async with state.db.system_session("staff console: list organisations") as session:
        rows = await staff.list_orgs(session, actor)
    return [
        OrgSummaryOut(id=r.id, name=r.name, plan_code=r.plan_code, members=r.members) for r in rows
    ]


@router.put(
    "/orgs/{org_id}/plan",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Move an organisation to another plan",
)
async def assign_plan(org_id: UUID, body: PlanAssign, actor: StaffDep, state: StateDep) -> None:
    async with state.db.system_session("staff console: set plan") as session:
        await staff.set_org_plan(session, actor, org_id, body.plan)


@router.get("/plans", response_model=list[PlanOut], summary="Every plan")
async def list_plans(actor: StaffDep, state: StateDep) -> list[PlanOut]:
    async with state.db.system_session("staff console: list plans") as session:
        return [PlanOut.of(p) for p in await plans.list_plans(session)]


@router.patch("/plans/{code}", response_model=PlanOut, summary="Edit a plan's limits")
async def edit_plan(code: str, body: PlanPatch, actor: StaffDep, state: StateDep) -> PlanOut:
    changes: dict[str, Any] = body.model_dump(exclude_none=True)
    async with state.db.system_session("staff console: edit plan") as session:
        return PlanOut.of(await plans.update_plan(session, actor, code, changes))
