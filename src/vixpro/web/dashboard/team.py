"""The team page: members, pending invitations, inviting, changing roles, removing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from vixpro.accounts import invitations, members
from vixpro.core.roles import Role
from vixpro.web.dashboard.pages import FORM_ERRORS, Flash, error_message, redirect, render
from vixpro.web.dashboard.session import Member, MemberDep, WriterDep
from vixpro.web.deps import StateDep
from vixpro.web.state import AppState

router = APIRouter(prefix="/team")


async def _context(state: AppState, member: Member) -> dict[str, Any]:
    principal = member.principal
    async with state.db.tenant_session(principal.org_id) as session:
        people = await members.list_members(session, limit=200)
        pending = await invitations.list_invitations(session, limit=200)
    grantable = [role for role in Role if principal.role.may_grant(role)]
    rows = []
    for membership, user in people:
        role = Role(membership.role)
        editable = (
            member.manages
            and user.id != principal.user_id
            and (role is not Role.OWNER or principal.role is Role.OWNER)
        )
        rows.append({"membership": membership, "user": user, "role": role, "editable": editable})
    return {
        "rows": rows,
        "invitations": pending,
        "now": datetime.now(UTC),
        "grantable": grantable,
        "manages": member.manages,
        "form": {"email": "", "role": Role.MEMBER.value},
    }


async def _show_error(
    request: Request,
    state: AppState,
    member: Member,
    exc: Exception,
    form: dict[str, str] | None = None,
) -> Response:
    status, message = error_message(exc)
    context = await _context(state, member)
    if form:
        context["form"] = form
    return render(request, "team.html", context, status=status, error=message)


@router.get("")
async def team_page(request: Request, state: StateDep, member: MemberDep) -> Response:
    return render(request, "team.html", await _context(state, member))


@router.post("/invite")
async def invite(
    request: Request,
    state: StateDep,
    member: WriterDep,
    email: Annotated[str, Form(max_length=254)] = "",
    role: Annotated[str, Form(max_length=32)] = Role.MEMBER.value,
) -> Response:
    try:
        async with state.db.tenant_session(member.principal.org_id) as session:
            issued = await invitations.invite(
                session, member.principal, email, role, state.invitation_ttl
            )
    except FORM_ERRORS as exc:
        return await _show_error(request, state, member, exc, {"email": email, "role": role})
    link = f"{state.settings.base_url}/invite/{issued.token}"
    flash = Flash(
        f"Invitation created for {issued.invitation.email} as {issued.invitation.role}. "
        "Email delivery is not set up yet: send them this link. It is shown only once.",
        reveal=link,
        reveal_label="Accept link",
    )
    return render(request, "team.html", await _context(state, member), status=201, flash=flash)


@router.post("/members/{membership_id}/role")
async def change_role(
    request: Request,
    state: StateDep,
    member: WriterDep,
    membership_id: uuid.UUID,
    role: Annotated[str, Form(max_length=32)],
) -> Response:
    try:
        async with state.db.tenant_session(member.principal.org_id) as session:
            changed = await members.change_role(session, member.principal, membership_id, role)
            _, user = await members.get_member(session, changed.id)
    except FORM_ERRORS as exc:
        return await _show_error(request, state, member, exc)
    flash = Flash(f"{user.email} is now {changed.role}.")
    return redirect(request, "/team", member.signed_in, flash)


@router.post("/members/{membership_id}/remove")
async def remove_member(
    request: Request, state: StateDep, member: WriterDep, membership_id: uuid.UUID
) -> Response:
    try:
        async with state.db.tenant_session(member.principal.org_id) as session:
            _, user = await members.get_member(session, membership_id)
            await members.remove(session, member.principal, membership_id)
    except FORM_ERRORS as exc:
        return await _show_error(request, state, member, exc)
    flash = Flash(f"{user.email} was removed from {member.principal.org_name}.")
    return redirect(request, "/team", member.signed_in, flash)


@router.post("/invitations/{invitation_id}/revoke")
async def revoke_invitation(
    request: Request, state: StateDep, member: WriterDep, invitation_id: uuid.UUID
) -> Response:
    try:
        async with state.db.tenant_session(member.principal.org_id) as session:
            await invitations.revoke(session, member.principal, invitation_id)
    except FORM_ERRORS as exc:
        return await _show_error(request, state, member, exc)
    return redirect(request, "/team", member.signed_in, Flash("Invitation revoked."))
