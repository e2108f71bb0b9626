"""Signing in and out, and switching the organisation a session acts in."""

from __future__ import annotations

import uuid
from contextlib import suppress
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from vixpro.accounts import auth
from vixpro.accounts.errors import NotFound, Throttled
from vixpro.web.dashboard.pages import redirect, render
from vixpro.web.dashboard.session import (
    HOME,
    CsrfDep,
    MaybeSignedInDep,
    clear_session_cookie,
    safe_next,
    set_session_cookie,
)
from vixpro.web.deps import SESSION_COOKIE, StateDep, client_ip

router = APIRouter()


@router.get("/")
async def home() -> Response:
    return RedirectResponse(HOME, status_code=303)


@router.get("/login")
async def login_page(
    request: Request,
    signed_in: MaybeSignedInDep,
    next_: Annotated[str, Query(alias="next", max_length=2000)] = HOME,
) -> Response:
    target = safe_next(next_)
    if signed_in is not None:
        return redirect(request, target)
    return render(request, "login.html", {"next": target, "email": ""})


@router.post("/login")
async def login(
    request: Request,
    state: StateDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next_: Annotated[str, Form(alias="next", max_length=2000)] = HOME,
) -> Response:
    target = safe_next(next_)
    context = {"next": target, "email": email}
    new_login: auth.NewLogin | None = None
    try:
        async with state.db.system_session("dashboard sign-in") as session:
            # Caught inside the transaction, so that the failure is counted and audited.
            with suppress(auth.BadCredentials):
                new_login = await auth.login(
                    session,
                    state.login_policy,
                    email,
                    password,
                    client_ip(request),
                    request.headers.get("user-agent"),
                )
    except Throttled as exc:
        response = render(request, "login.html", context, status=429, error=str(exc))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if new_login is None:
        return render(request, "login.html", context, status=401, error=auth.BAD_LOGIN)
    response = redirect(request, target)
    set_session_cookie(response, request, state, new_login)
    return response


@router.post("/logout")
async def logout(request: Request, state: StateDep, signed_in: CsrfDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE, "")
    async with state.db.system_session("dashboard sign-out") as session:
        await auth.logout(session, token)
    response = redirect(request, "/login")
    clear_session_cookie(response, request, state)
    return response


@router.post("/org/switch")
async def switch_org(
    request: Request,
    state: StateDep,
    signed_in: CsrfDep,
    org_id: Annotated[uuid.UUID, Form()],
    next_: Annotated[str, Form(alias="next", max_length=2000)] = HOME,
) -> Response:
    async with state.db.system_session("dashboard: switch organisation") as session:
        switched = await auth.switch_org(session, signed_in, org_id)
    if not switched:
        raise NotFound("organisation")
    return redirect(request, safe_next(next_))
