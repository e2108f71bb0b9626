from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel

from vixpro.web.api.schemas import PlanOut
from vixpro.web.deps import PrincipalDep

router = APIRouter(tags=["me"])


class MeOut(BaseModel):
    kind: str
    label: str
    role: str
    org_id: UUID
    org_name: str
    user_id: UUID | None
    api_key_id: UUID | None
    plan: PlanOut


@router.get("/me", response_model=MeOut, summary="Who is calling, in which organisation")
async def me(principal: PrincipalDep) -> MeOut:
    return MeOut(
        kind=principal.kind,
        label=principal.label,
        role=principal.role.value,
        org_id=principal.org_id,
        org_name=principal.org_name,
        user_id=principal.user_id,
        api_key_id=principal.api_key_id,
        plan=PlanOut.of(principal.plan),
    )
