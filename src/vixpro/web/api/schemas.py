"""Response and request bodies shared by several routers."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from vixpro.core.plans import PlanLimits


class Strict(BaseModel):
    """Request bodies refuse unknown fields, so a misspelt field is named in the error."""

    model_config = ConfigDict(extra="forbid")


class PlanOut(BaseModel):
    code: str
    name: str
    price: str
    max_servers: int
    max_team_members: int
    max_stakeholders: int
    alert_triage: bool
    auto_remediation: bool
    priority_support: bool
    api_requests_per_hour: int
    alert_budget_per_server_day: int
    max_concurrent_reactive_agents: int

    @classmethod
    def of(cls, plan: PlanLimits) -> PlanOut:
        return cls(
            code=plan.code,
            name=plan.name,
            price=plan.price_label,
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


class MemberOut(BaseModel):
    id: UUID
    user_id: UUID
    email: str
    display_name: str
    role: str
    joined_at: datetime


class InvitationOut(BaseModel):
    id: UUID
    email: str
    role: str
    expires_at: datetime
    created_at: datetime


class ApiKeyOut(BaseModel):
    id: UUID
    name: str
    role: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
