"""The bell: the unread count in the header (polled), the list, marking read."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.accounts import auth
from vixpro.notify import bell
from vixpro.web.dashboard.pages import redirect, render
from vixpro.web.dashboard.session import CsrfDep, SignedInDep
from vixpro.web.deps import StateDep
from vixpro.web.state import AppState

router = APIRouter(prefix="/bell")
SHOWN = 100


def _scope(state: AppState, signed_in: auth.SignedIn) -> AbstractAsyncContextManager[AsyncSession]:
    """A person's own bell: in their current organisation; platform staff see theirs from every
    organisation (what support and the platform address to staff comes from many)."""
    if signed_in.principal is not None and not signed_in.is_staff:
        return state.db.tenant_session(signed_in.principal.org_id)
    return state.db.system_session("bell: a staff user's own notifications")


async def _unread(state: AppState, signed_in: auth.SignedIn) -> int:
    async with _scope(state, signed_in) as session:
        return await bell.unread(session, signed_in.user_id)


async def _context(state: AppState, signed_in: auth.SignedIn) -> dict[str, Any]:
    async with _scope(state, signed_in) as session:
        rows = await bell.latest(session, signed_in.user_id, limit=SHOWN)
        unread = await bell.unread(session, signed_in.user_id)
    return {"items": rows, "unread": unread}


@router.get("")
async def bell_page(request: Request, state: StateDep, signed_in: SignedInDep) -> Response:
    return render(request, "bell.html", await _context(state, signed_in))


@router.get("/count")
async def bell_count(request: Request, state: StateDep, signed_in: SignedInDep) -> Response:
    """The header's badge, polled every few seconds."""
    unread = await _unread(state, signed_in)
    templates = request.app.state.templates
    response: Response = templates.TemplateResponse(
        request, "_bell_count.html", {"unread": unread}, headers={"Cache-Control": "no-store"}
    )
    return response


async def _mark(state: AppState, signed_in: auth.SignedIn, notification_id: int | None) -> None:
    async with _scope(state, signed_in) as session:
        if notification_id is None:
            await bell.mark_all_read(session, signed_in.user_id)
        else:
            await bell.mark_read(session, signed_in.user_id, notification_id)


@router.post("/read-all")
async def read_all(request: Request, state: StateDep, signed_in: CsrfDep) -> Response:
    await _mark(state, signed_in, None)
    return redirect(request, "/bell")


@router.post("/{notification_id}/read")
async def read_one(
    request: Request, state: StateDep, signed_in: CsrfDep, notification_id: int
) -> Response:
    await _mark(state, signed_in, notification_id)
    if request.headers.get("hx-request") == "true" and request.headers.get("hx-target"):
        return HTMLResponse("", headers={"HX-Trigger": "bell-changed"})
    return redirect(request, "/bell")
