from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel

from vixpro.accounts import audit
from vixpro.accounts.errors import Forbidden
from vixpro.core.roles import Role
from vixpro.web.api.pagination import Page, PageDep
from vixpro.web.deps import PrincipalDep, StateDep

router = APIRouter(tags=["audit"])


class AuditEventOut(BaseModel):
    id: UUID
    at: datetime
    actor_type: str
    actor_label: str
    action: str
    target_type: str | None
    target_id: str | None
    details: dict[str, Any]
    ip: str | None


@router.get(
    "/audit-events",
    response_model=Page[AuditEventOut],
    summary="The organisation's audit trail, newest first (owner or admin)",
)
async def list_events(
    principal: PrincipalDep,
    state: StateDep,
    page: PageDep,
    action: str | None = Query(default=None, max_length=64),
) -> Page[AuditEventOut]:
    if not principal.role.at_least(Role.ADMIN):
        raise Forbidden("only owners and admins read the audit trail")
    async with state.db.tenant_session(principal.org_id) as session:
        rows = await audit.list_events(session, limit=page.limit, cursor=page.cursor, action=action)
    items = [
        AuditEventOut(
            id=e.id,
            at=e.at,
            actor_type=e.actor_type,
            actor_label=e.actor_label,
            action=e.action,
            target_type=e.target_type,
            target_id=e.target_id,
            details=e.details,
            ip=e.ip,
        )
        for e in rows
    ]
    return Page(items=items, next_cursor=page.next([(e.at, e.id) for e in rows]))
