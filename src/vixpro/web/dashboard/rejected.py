"""The rejected payloads pages: webhook bodies VixPro could not use, kept raw with the reason,
so that the sender can be fixed."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.accounts.errors import InvalidInput
from vixpro.core.pagination import BadCursor, Cursor
from vixpro.incidents import integrations, rejected
from vixpro.web.dashboard.pages import render
from vixpro.web.dashboard.session import MemberDep
from vixpro.web.deps import StateDep
from vixpro.web.state import AppState

router = APIRouter(prefix="/rejected")
PAGE_SIZE = 50


async def _integration_names(state: AppState, session: AsyncSession) -> dict[uuid.UUID, str]:
    views = await integrations.list_all(session, state.settings.master_key_bytes())
    return {v.id: v.name for v in views}


@router.get("")
async def rejected_page(
    request: Request,
    state: StateDep,
    member: MemberDep,
    before: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    try:
        cursor = Cursor.decode(before) if before else None
    except BadCursor as exc:
        raise InvalidInput("before", str(exc)) from exc
    async with state.db.tenant_session(member.principal.org_id) as session:
        rows = await rejected.list_rejected(session, cursor, PAGE_SIZE)
        names = await _integration_names(state, session)
    older = None
    if len(rows) == PAGE_SIZE:
        older = Cursor(rows[-1].received_at, rows[-1].id).encode()
    return render(
        request,
        "rejected.html",
        {"rows": rows, "names": names, "older": older, "paged": cursor is not None},
    )


@router.get("/{payload_id}")
async def rejected_detail(
    request: Request, state: StateDep, member: MemberDep, payload_id: uuid.UUID
) -> Response:
    async with state.db.tenant_session(member.principal.org_id) as session:
        row = await rejected.get(session, payload_id)
        names = await _integration_names(state, session)
    return render(
        request,
        "rejected_payload.html",
        {
            "row": row,
            "integration": names.get(row.integration_id) if row.integration_id else None,
            "body": row.body.decode("utf-8", errors="replace"),
        },
    )
