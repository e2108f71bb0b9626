"""The executions pages: the audit trail of every tool run, filtered and paged, and one run in
full (parameters, who asked, who approved, output, error)."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from vixpro.accounts.errors import InvalidInput
from vixpro.core.pagination import BadCursor, Cursor
from vixpro.tools import executions, servers
from vixpro.web.dashboard.pages import render
from vixpro.web.dashboard.servers import server_names
from vixpro.web.dashboard.session import MemberDep
from vixpro.web.deps import StateDep

router = APIRouter(prefix="/executions")
PAGE_SIZE = 50
STATUSES = ("awaiting_approval", "queued", "running", "succeeded", "failed", "denied", "expired")


def _server_filter(text: str) -> uuid.UUID | None:
    if not text:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        raise InvalidInput("server", "is not a server id") from None


@router.get("")
async def executions_page(
    request: Request,
    state: StateDep,
    member: MemberDep,
    server: Annotated[str, Query(max_length=64)] = "",
    tool: Annotated[str, Query(max_length=64)] = "",
    status: Annotated[str, Query(max_length=24)] = "",
    before: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    server_id = _server_filter(server)
    if status and status not in STATUSES:
        raise InvalidInput("status", f"must be one of {', '.join(STATUSES)}")
    try:
        cursor = Cursor.decode(before) if before else None
    except BadCursor as exc:
        raise InvalidInput("before", str(exc)) from exc
    async with state.db.tenant_session(member.principal.org_id) as session:
        rows = await executions.list_executions(
            session,
            limit=PAGE_SIZE,
            cursor=cursor,
            server_id=server_id,
            tool=tool or None,
            status=status or None,
        )
        all_servers = await servers.list_servers(session, limit=500)
        names = {s.id: s.name for s in all_servers}
        names.update(await server_names(session, {r.server_id for r in rows} - set(names)))
    filters = {"server": server, "tool": tool, "status": status}
    older = None
    if len(rows) == PAGE_SIZE:
        next_cursor = Cursor(rows[-1].created_at, rows[-1].id).encode()
        older = urlencode({**{k: v for k, v in filters.items() if v}, "before": next_cursor})
    assert state.manifest is not None
    return render(
        request,
        "executions.html",
        {
            "rows": rows,
            "names": names,
            "servers": all_servers,
            "tool_names": sorted(str(t["name"]) for t in state.manifest.body["tools"]),
            "statuses": STATUSES,
            "filters": filters,
            "filtered": any(filters.values()),
            "older": older,
            "paged": cursor is not None,
            "newest": urlencode({k: v for k, v in filters.items() if v}),
        },
    )


@router.get("/{execution_id}")
async def execution_page(
    request: Request, state: StateDep, member: MemberDep, execution_id: uuid.UUID
) -> Response:
    row = await state.runner.get(member.principal.org_id, execution_id)
    async with state.db.tenant_session(member.principal.org_id) as session:
        approval = await executions.approval_for(session, row.id)
        name = (await server_names(session, [row.server_id]))[row.server_id]
    return render(
        request,
        "execution.html",
        {"row": row, "approval": approval, "server_name": name, "final": executions.FINAL},
    )
