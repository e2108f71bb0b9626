"""The approvals page: tool runs waiting for an owner or admin, deciding them, and the
recently decided ones."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import escape

from vixpro.accounts.errors import InvalidInput
from vixpro.tools import executions
from vixpro.web.dashboard.pages import FORM_ERRORS, Flash, error_message, redirect, render
from vixpro.web.dashboard.servers import APPROVALS_CHANGED, server_names
from vixpro.web.dashboard.session import Member, MemberDep, WriterDep
from vixpro.web.deps import StateDep
from vixpro.web.state import AppState

router = APIRouter(prefix="/approvals")
BADGE_CAP = 99


async def _context(state: AppState, member: Member) -> dict[str, Any]:
    async with state.db.tenant_session(member.principal.org_id) as session:
        pending = await executions.list_approvals(session, state="pending", limit=200)
        latest = await executions.list_approvals(session, state=None, limit=100)
        decided = [(a, e) for a, e in latest if a.state != "pending"][:50]
        names = await server_names(session, [e.server_id for _, e in [*pending, *decided]])
    return {
        "pending": pending,
        "decided": decided,
        "names": names,
        "now": datetime.now(UTC),
        "manages": member.manages,
    }


def _page(request: Request, context: dict[str, Any], **kwargs: Any) -> Response:
    response = render(request, "approvals.html", context, **kwargs)
    # After a decision only #main is swapped: tell the navigation's badge to recount.
    response.headers["HX-Trigger"] = APPROVALS_CHANGED
    return response


@router.get("")
async def approvals_page(request: Request, state: StateDep, member: MemberDep) -> Response:
    return _page(request, await _context(state, member))


@router.get("/pending-count")
async def pending_count(state: StateDep, member: MemberDep) -> Response:
    """The badge in the navigation: how many requests wait for a decision."""
    async with state.db.tenant_session(member.principal.org_id) as session:
        count = len(await executions.list_approvals(session, limit=BADGE_CAP + 1))
    if not count:
        return HTMLResponse("", headers={"Cache-Control": "no-store"})
    shown = f"{BADGE_CAP}+" if count > BADGE_CAP else str(count)
    label = f"{count} waiting for approval"
    # The leading space keeps the link's accessible name "Approvals 3", not "Approvals3".
    badge = f' <span class="badge count" title="{escape(label)}">{escape(shown)}</span>'
    return HTMLResponse(badge, headers={"Cache-Control": "no-store"})


@router.post("/{approval_id}/decision")
async def decide(
    request: Request,
    state: StateDep,
    member: WriterDep,
    approval_id: uuid.UUID,
    decision: Annotated[str, Form(max_length=16)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        if decision not in ("approve", "deny"):
            raise InvalidInput("decision", "choose approve or deny")
        approve = decision == "approve"
        approval = await state.runner.decide(member.principal, approval_id, approve, reason.strip())
        execution = await state.runner.get(member.principal.org_id, approval.execution_id)
        async with state.db.tenant_session(member.principal.org_id) as session:
            name = (await server_names(session, [execution.server_id]))[execution.server_id]
    except FORM_ERRORS as exc:
        status, message = error_message(exc)
        context = await _context(state, member)
        return _page(request, context, status=status, error=message)
    if approve:
        text = f"Approved {execution.tool} on {name}; it is running now."
    else:
        text = f"Denied {execution.tool} on {name}."
    return redirect(request, "/approvals", member.signed_in, Flash(text))
