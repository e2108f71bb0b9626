"""The audit log page: the organisation's trail, newest first, for owners and admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from vixpro.accounts import audit
from vixpro.accounts.errors import Forbidden, InvalidInput
from vixpro.core.pagination import BadCursor, Cursor
from vixpro.web.dashboard.pages import render
from vixpro.web.dashboard.session import MemberDep
from vixpro.web.deps import StateDep

router = APIRouter()
PAGE_SIZE = 50


@router.get("/audit")
async def audit_page(
    request: Request,
    state: StateDep,
    member: MemberDep,
    before: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    if not member.manages:
        raise Forbidden("only owners and admins read the audit log")
    try:
        cursor = Cursor.decode(before) if before else None
    except BadCursor as exc:
        raise InvalidInput("before", str(exc)) from exc
    async with state.db.tenant_session(member.principal.org_id) as session:
        events = await audit.list_events(session, limit=PAGE_SIZE, cursor=cursor)
    older = None
    if len(events) == PAGE_SIZE:
        older = Cursor(events[-1].at, events[-1].id).encode()
    return render(
        request, "audit.html", {"events": events, "older": older, "paged": cursor is not None}
    )
