"""The tools page: the signed catalogue every host agent runs, and this organisation's
permissions on it (enabled, approval required), changed by owners and admins."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from vixpro.tools import catalogue
from vixpro.web.dashboard.pages import FORM_ERRORS, Flash, error_message, redirect, render
from vixpro.web.dashboard.session import Member, MemberDep, WriterDep
from vixpro.web.deps import StateDep
from vixpro.web.state import AppState

router = APIRouter(prefix="/tools")


async def _context(state: AppState, member: Member) -> dict[str, Any]:
    assert state.manifest is not None
    async with state.db.tenant_session(member.principal.org_id) as session:
        views = await catalogue.tool_views(session, state.manifest)
    return {
        "tools": sorted(views, key=lambda v: (v.risk != "read", v.name)),
        "manifest_version": state.manifest.version,
        "manages": member.manages,
    }


@router.get("")
async def tools_page(request: Request, state: StateDep, member: MemberDep) -> Response:
    return render(request, "tools.html", await _context(state, member))


@router.post("/{name}")
async def set_permissions(
    request: Request,
    state: StateDep,
    member: WriterDep,
    name: str,
    enabled: Annotated[str, Form(max_length=8)] = "",
    approval_required: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    # Both boxes are always in the form: an unticked checkbox is simply not sent.
    assert state.manifest is not None
    try:
        async with state.db.tenant_session(member.principal.org_id) as session:
            view = await catalogue.set_permissions(
                session,
                member.principal,
                state.manifest,
                name,
                enabled=bool(enabled),
                approval_required=bool(approval_required),
            )
    except FORM_ERRORS as exc:
        status, message = error_message(exc)
        context = await _context(state, member)
        return render(request, "tools.html", context, status=status, error=message)
    words = "enabled" if view.enabled else "disabled"
    if view.enabled:
        words += ", approval required" if view.approval_required else ", runs without approval"
    return redirect(request, "/tools", member.signed_in, Flash(f"Saved {view.name}: {words}."))
