"""Maintenance announcements: the banner every dashboard page loads, and the staff console page
that announces (24 hours' notice unless emergency) and cancels."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from vixpro.accounts.errors import InvalidInput
from vixpro.support import announcements
from vixpro.web.dashboard.incidents import parse_time
from vixpro.web.dashboard.pages import FORM_ERRORS, Flash, error_message, redirect, render
from vixpro.web.dashboard.session import SignedInDep, StaffDep, StaffWriterDep
from vixpro.web.deps import StateDep
from vixpro.web.state import AppState

router = APIRouter()


@router.get("/announcements/banner")
async def banner(request: Request, state: StateDep, signed_in: SignedInDep) -> Response:
    """The maintenance banner (loaded by every page): announced maintenance that has not ended."""
    async with state.db.unscoped_session() as session:
        rows = await announcements.current(session)
    return render(request, "_banner.html", {"announcements": rows, "now": datetime.now(UTC)})


def _empty() -> dict[str, Any]:
    return {"title": "", "body": "", "starts_at": "", "ends_at": "", "emergency": False}


async def _context(state: AppState, form: dict[str, Any] | None = None) -> dict[str, Any]:
    async with state.db.system_session("staff console: announcements") as session:
        rows = await announcements.list_all(session)
    return {"rows": rows, "form": form or _empty(), "now": datetime.now(UTC)}


@router.get("/staff/announcements")
async def staff_page(request: Request, state: StateDep, staff_user: StaffDep) -> Response:
    return render(request, "staff/announcements.html", await _context(state))


def _required(field: str, text: str) -> datetime:
    value = parse_time(field, text)
    if value is None:
        raise InvalidInput(field, "give a date and time (UTC)")
    return value


@router.post("/staff/announcements")
async def announce(
    request: Request,
    state: StateDep,
    staff_user: StaffWriterDep,
    title: Annotated[str, Form(max_length=400)] = "",
    body: Annotated[str, Form(max_length=8000)] = "",
    starts_at: Annotated[str, Form(max_length=40)] = "",
    ends_at: Annotated[str, Form(max_length=40)] = "",
    emergency: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    is_emergency = emergency == "true"
    form: dict[str, Any] = {
        "title": title,
        "body": body,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "emergency": is_emergency,
    }
    try:
        async with state.db.system_session("staff console: announce maintenance") as session:
            row = await announcements.announce(
                session,
                staff_user.actor,
                title=title,
                body=body,
                starts_at=_required("starts_at", starts_at),
                ends_at=_required("ends_at", ends_at),
                emergency=is_emergency,
            )
            text = f"Announced to every organisation: {announcements.describe(row)}."
    except FORM_ERRORS as exc:
        status, message = error_message(exc)
        context = await _context(state, form)
        return render(request, "staff/announcements.html", context, status=status, error=message)
    return redirect(request, "/staff/announcements", staff_user.signed_in, Flash(text))


@router.post("/staff/announcements/{announcement_id}/cancel")
async def cancel(
    request: Request, state: StateDep, staff_user: StaffWriterDep, announcement_id: uuid.UUID
) -> Response:
    try:
        async with state.db.system_session("staff console: cancel announcement") as session:
            await announcements.cancel(session, staff_user.actor, announcement_id)
    except FORM_ERRORS as exc:
        status, message = error_message(exc)
        context = await _context(state)
        return render(request, "staff/announcements.html", context, status=status, error=message)
    flash = Flash("Cancelled; every organisation was told.")
    return redirect(request, "/staff/announcements", staff_user.signed_in, flash)
