from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from vixpro.db.models import RejectedPayload
from vixpro.incidents import rejected
from vixpro.web.api.pagination import Page, PageDep
from vixpro.web.deps import PrincipalDep, StateDep

router = APIRouter(tags=["rejected payloads"])


class RejectedOut(BaseModel):
    id: UUID
    integration_id: UUID | None
    source: str
    reason: str
    content_type: str
    headers: dict[str, Any]
    size: int
    body: str = Field(description="the raw body as text (undecodable bytes replaced)")
    received_at: datetime

    @classmethod
    def of(cls, r: RejectedPayload) -> RejectedOut:
        return cls(
            id=r.id,
            integration_id=r.integration_id,
            source=r.source,
            reason=r.reason,
            content_type=r.content_type,
            headers=r.headers,
            size=len(r.body),
            body=r.body.decode("utf-8", errors="replace"),
            received_at=r.received_at,
        )


@router.get(
    "/rejected-payloads",
    response_model=Page[RejectedOut],
    summary="Webhook payloads that could not be used, kept raw with the reason",
)
async def list_rejected(
    principal: PrincipalDep, state: StateDep, page: PageDep
) -> Page[RejectedOut]:
    async with state.db.tenant_session(principal.org_id) as session:
        rows = await rejected.list_rejected(session, page.cursor, page.limit)
    return Page(
        items=[RejectedOut.of(r) for r in rows],
        next_cursor=page.next([(r.received_at, r.id) for r in rows]),
    )


@router.get("/rejected-payloads/{payload_id}", response_model=RejectedOut, summary="One")
async def get_rejected(payload_id: UUID, principal: PrincipalDep, state: StateDep) -> RejectedOut:
    async with state.db.tenant_session(principal.org_id) as session:
        return RejectedOut.of(await rejected.get(session, payload_id))
