"""The API keys page: list, create (the key is shown once), revoke."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from vixpro.accounts import api_keys
from vixpro.core.roles import API_KEY_ROLES, Role
from vixpro.web.dashboard.pages import FORM_ERRORS, Flash, error_message, redirect, render
from vixpro.web.dashboard.session import Member, MemberDep, WriterDep
from vixpro.web.deps import StateDep
from vixpro.web.state import AppState

router = APIRouter(prefix="/api-keys")


async def _context(state: AppState, member: Member) -> dict[str, Any]:
    async with state.db.tenant_session(member.principal.org_id) as session:
        keys = await api_keys.list_keys(session, limit=200)
    return {
        "keys": sorted(keys, key=lambda k: k.revoked_at is not None),  # active keys first
        "manages": member.manages,
        "grantable": [r for r in API_KEY_ROLES if member.role.may_grant(r)],
        "form": {"name": "", "role": Role.MEMBER.value},
    }


@router.get("")
async def keys_page(request: Request, state: StateDep, member: MemberDep) -> Response:
    return render(request, "api_keys.html", await _context(state, member))


@router.post("")
async def create_key(
    request: Request,
    state: StateDep,
    member: WriterDep,
    name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=32)] = Role.MEMBER.value,
) -> Response:
    principal = member.principal
    try:
        async with state.db.tenant_session(principal.org_id) as session:
            issued = await api_keys.create(
                session,
                principal.actor,
                principal.org_id,
                name=name,
                role_text=role,
                actor_role=principal.role,
                created_by=principal.user_id,
            )
    except FORM_ERRORS as exc:
        status, message = error_message(exc)
        context = await _context(state, member)
        context["form"] = {"name": name, "role": role}
        return render(request, "api_keys.html", context, status=status, error=message)
    flash = Flash(
        f"API key {issued.api_key.name!r} created with the {issued.api_key.role} role. "
        "Copy it now: it is shown only once and cannot be recovered.",
        reveal=issued.secret,
        reveal_label="API key",
    )
    return render(request, "api_keys.html", await _context(state, member), status=201, flash=flash)


@router.post("/{key_id}/revoke")
async def revoke_key(
    request: Request, state: StateDep, member: WriterDep, key_id: uuid.UUID
) -> Response:
    principal = member.principal
    try:
        async with state.db.tenant_session(principal.org_id) as session:
            key = await api_keys.revoke(
                session, principal.actor, principal.role, principal.org_id, key_id
            )
    except FORM_ERRORS as exc:
        status, message = error_message(exc)
        context = await _context(state, member)
        return render(request, "api_keys.html", context, status=status, error=message)
    state.api_keys.forget(key_id)
    return redirect(request, "/api-keys", member.signed_in, Flash(f"API key {key.name!r} revoked."))
