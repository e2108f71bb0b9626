from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from vixpro.db.models import MaintenanceWindow
from vixpro.incidents import maintenance
from vixpro.web.api.schemas import Strict
from vixpro.web.deps import PrincipalDep, StateDep

router = APIRouter(tags=["maintenance windows"])


class WindowOut(BaseModel):
    id: UUID
    reason: str
    starts_at: datetime
    ends_at: datetime
    scope: str
    server_ids: list[UUID]
    labels: dict[str, Any]
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, w: MaintenanceWindow) -> WindowOut:
        return cls.model_validate(w, from_attributes=True)


class WindowIn(Strict):
    reason: str = Field(min_length=1, max_length=1000)
    starts_at: datetime
    ends_at: datetime
    scope: Literal["all", "servers", "labels"]
    server_ids: list[UUID] = Field(default_factory=list, max_length=500)
    labels: dict[str, str] = Field(default_factory=dict, max_length=20)


@router.get("/maintenance-windows", response_model=list[WindowOut], summary="Current and upcoming")
async def list_windows(
    principal: PrincipalDep, state: StateDep, include_past: bool = False
) -> list[WindowOut]:
    async with state.db.tenant_session(principal.org_id) as session:
        rows = await maintenance.list_windows(session, include_past=include_past)
    return [WindowOut.of(w) for w in rows]


@router.post(
    "/maintenance-windows",
    response_model=WindowOut,
    status_code=status.HTTP_201_CREATED,
    summary="Schedule a window: alerts inside it are kept, suppressed, and start nothing",
)
async def create_window(body: WindowIn, principal: PrincipalDep, state: StateDep) -> WindowOut:
    async with state.db.tenant_session(principal.org_id) as session:
        row = await maintenance.create(
            session,
            principal,
            reason=body.reason,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            scope=body.scope,
            server_ids=body.server_ids,
            labels=body.labels,
        )
        return WindowOut.of(row)


@router.delete(
    "/maintenance-windows/{window_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Cancel"
)
async def delete_window(window_id: UUID, principal: PrincipalDep, state: StateDep) -> None:
    async with state.db.tenant_session(principal.org_id) as session:
        await maintenance.delete(session, principal, window_id)
