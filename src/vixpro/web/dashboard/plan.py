"""The plan page: what the organisation's plan allows and how much of it is in use."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response

from vixpro.accounts import ratelimit, seats
from vixpro.web.dashboard.pages import render
from vixpro.web.dashboard.session import MemberDep
from vixpro.web.deps import StateDep

router = APIRouter()


@dataclass(frozen=True)
class LimitRow:
    label: str
    maximum: int
    used: int | None  # None where usage is not counted yet

    @property
    def percent(self) -> int:
        if self.used is None or self.maximum <= 0:
            return 100 if self.used else 0
        return min(100, round(self.used * 100 / self.maximum))

    @property
    def full(self) -> bool:
        return self.used is not None and self.used >= self.maximum


@router.get("/plan")
async def plan_page(request: Request, state: StateDep, member: MemberDep) -> Response:
    principal = member.principal
    async with state.db.tenant_session(principal.org_id) as session:
        team, stakeholders = await seats.seat_usage(session, include_pending=False)
        pending_team, pending_stakeholders = await seats.seat_usage(session)
        requests = await ratelimit.current_usage(session)
    plan = principal.plan
    limits = [
        LimitRow("Servers", plan.max_servers, None),
        LimitRow("Team members", plan.max_team_members, team),
        LimitRow("Stakeholder seats", plan.max_stakeholders, stakeholders),
        LimitRow("API requests this hour", plan.api_requests_per_hour, requests),
        LimitRow("Alerts per server per day", plan.alert_budget_per_server_day, None),
        LimitRow("Concurrent reactive AI agents", plan.max_concurrent_reactive_agents, None),
    ]
    features = [
        ("Alert triage", plan.alert_triage),
        ("Auto remediation", plan.auto_remediation),
        ("Priority support", plan.priority_support),
    ]
    return render(
        request,
        "plan.html",
        {
            "plan": plan,
            "limits": limits,
            "features": features,
            "pending_team": pending_team - team,
            "pending_stakeholders": pending_stakeholders - stakeholders,
        },
    )
