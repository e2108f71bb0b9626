"""Accepting an invitation: a new person sets a password; an existing user signs in and accepts.

The anonymous form has no session to carry a CSRF token, so its token is an HMAC of the
invitation token: only a page that knew the invitation link can post it.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from vixpro.accounts import auth, invitations
from vixpro.accounts.errors import InvalidInput, NotFound
from vixpro.web.dashboard.pages import FORM_ERRORS, Flash, error_message, redirect, render
from vixpro.web.dashboard.session import (
    HOME,
    MaybeSignedInDep,
    login_redirect,
    require_csrf,
    set_session_cookie,
)
from vixpro.web.deps import SESSION_COOKIE, StateDep, client_ip
from vixpro.web.state import AppState

router = APIRouter(prefix="/invite")


def invite_csrf(state: AppState, token: str) -> str:
    key = state.settings.derived_secret("csrf:invite").encode()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


async def _find(state: AppState, token: str) -> invitations.PendingInvitation:
    async with state.db.system_session("dashboard: invitation by token") as session:
        return await invitations.find_by_token(session, token)


def _invalid(request: Request) -> Response:
    return render(request, "invite_invalid.html", status=404)


def _context(
    state: AppState,
    token: str,
    pending: invitations.PendingInvitation,
    signed_in: auth.SignedIn | None,
) -> dict[str, Any]:
    invitation = pending.invitation
    return {
        "token": token,
        "invitation": invitation,
        "org_name": pending.org_name,
        "user_exists": pending.user_exists,
        "invite_csrf": invite_csrf(state, token),
        "as_invitee": signed_in is not None and signed_in.email == invitation.email,
        "display_name": "",
    }


@router.get("/{token}")
async def invite_page(
    request: Request, state: StateDep, signed_in: MaybeSignedInDep, token: str
) -> Response:
    try:
        pending = await _find(state, token)
    except NotFound:
        return _invalid(request)
    return render(request, "invite.html", _context(state, token, pending, signed_in))


@router.post("/{token}")
async def accept(
    request: Request,
    state: StateDep,
    signed_in: MaybeSignedInDep,
    token: str,
    display_name: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    confirm: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    try:
        pending = await _find(state, token)
    except NotFound:
        return _invalid(request)
    if pending.user_exists:
        return await _accept_as_user(request, state, signed_in, token, pending)
    await require_csrf(request, invite_csrf(state, token))
    ip = client_ip(request)
    try:
        if password != confirm:
            raise InvalidInput("confirm", "the two passwords do not match")
        async with state.db.system_session("dashboard: accept invitation") as session:
            await invitations.accept(
                session, token, password=password, display_name=display_name, ip=ip
            )
    except FORM_ERRORS as exc:
        status, message = error_message(exc)
        context = _context(state, token, pending, signed_in)
        context["display_name"] = display_name
        return render(request, "invite.html", context, status=status, error=message)
    async with state.db.system_session("dashboard: sign in after accepting") as session:
        old = request.cookies.get(SESSION_COOKIE)
        if old:
            await auth.logout(session, old)
        new_login = await auth.login(
            session,
            state.login_policy,
            pending.invitation.email,
            password,
            ip,
            request.headers.get("user-agent"),
        )
    response = redirect(request, HOME)
    set_session_cookie(response, request, state, new_login)
    return response


async def _accept_as_user(
    request: Request,
    state: AppState,
    signed_in: auth.SignedIn | None,
    token: str,
    pending: invitations.PendingInvitation,
) -> Response:
    if signed_in is None:
        raise login_redirect(request)
    await require_csrf(request, signed_in.csrf_token)
    try:
        async with state.db.system_session("dashboard: accept invitation") as session:
            _, org_id = await invitations.accept(
                session,
                token,
                password=None,
                signed_in_user=signed_in.user_id,
                ip=client_ip(request),
            )
    except FORM_ERRORS as exc:
        status, message = error_message(exc)
        context = _context(state, token, pending, signed_in)
        return render(request, "invite.html", context, status=status, error=message)
    async with state.db.system_session("dashboard: switch to the joined organisation") as session:
        refreshed = await auth.resolve_session(
            session, request.cookies.get(SESSION_COOKIE, ""), client_ip(request)
        )
        if refreshed is not None:
            await auth.switch_org(session, refreshed, org_id)
    flash = Flash(f"You joined {pending.org_name} as {pending.invitation.role}.")
    return redirect(request, HOME, signed_in, flash)
