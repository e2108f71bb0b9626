"""Support pages: the organisation's tickets (list, new ticket, conversation with clocks) and the
staff console's ticket desk (every organisation's tickets, answering, mitigating, resolving)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from vixpro.accounts.errors import InvalidInput
from vixpro.support import tickets
from vixpro.support.attachments import (
    ALLOWED,
    MAX_BYTES,
    MAX_FILES,
    AttachmentTooLarge,
    check_all,
)
from vixpro.web.api.tickets import download, read_message
from vixpro.web.dashboard.pages import FORM_ERRORS, Flash, error_message, redirect, render
from vixpro.web.dashboard.session import (
    Member,
    MemberDep,
    Staff,
    StaffDep,
    StaffWriterDep,
    WriterDep,
)
from vixpro.web.deps import StateDep
from vixpro.web.state import AppState

router = APIRouter()
LIMITS = {
    "max_files": MAX_FILES,
    "max_mib": MAX_BYTES // (1024 * 1024),
    "types": ", ".join(ALLOWED.values()),
    "accept": ",".join(ALLOWED),
}


def _status_of(exc: Exception) -> tuple[int, str]:
    status, message = error_message(exc)
    return (413 if isinstance(exc, AttachmentTooLarge) else status), message


def _empty() -> dict[str, str]:
    return {"subject": "", "severity": "normal", "body": ""}


async def _list_context(
    state: AppState, member: Member, form: dict[str, str] | None = None
) -> dict[str, Any]:
    async with state.db.tenant_session(member.principal.org_id) as session:
        rows = await tickets.list_tickets(session, status=None, limit=200, cursor=None)
    return {
        "tickets": rows,
        "form": form or _empty(),
        "may_write": not member.role.read_only,
        "priority": member.principal.plan.priority_support,
        "plan_name": member.principal.plan.name,
        "limits": LIMITS,
    }


@router.get("/support")
async def support_page(request: Request, state: StateDep, member: MemberDep) -> Response:
    return render(request, "support.html", await _list_context(state, member))


@router.post("/support/tickets")
async def open_ticket(request: Request, state: StateDep, member: WriterDep) -> Response:
    values, uploads = await read_message(request, ("subject", "severity", "body"))
    form = {k: values.get(k, "")[:20_000] for k in ("subject", "severity", "body")}
    try:
        files = check_all(uploads)
        async with state.db.tenant_session(member.principal.org_id) as session:
            ticket = await tickets.open_ticket(
                session,
                member.principal,
                subject=form["subject"],
                severity=form["severity"] or "normal",
                body=form["body"],
                files=files,
            )
    except FORM_ERRORS as exc:
        status, message = _status_of(exc)
        context = await _list_context(state, member, form)
        return render(request, "support.html", context, status=status, error=message)
    flash = Flash("Ticket opened. VixPro support has been notified.")
    return redirect(request, f"/support/tickets/{ticket.id}", member.signed_in, flash)


async def _ticket_context(state: AppState, member: Member, ticket_id: uuid.UUID) -> dict[str, Any]:
    async with state.db.tenant_session(member.principal.org_id) as session:
        detail = await tickets.get_ticket(session, ticket_id)
    return {
        "detail": detail,
        "may_write": not member.role.read_only,
        "base": f"/support/tickets/{ticket_id}",
        "staff_view": False,
        "limits": LIMITS,
    }


@router.get("/support/tickets/{ticket_id}")
async def ticket_page(
    request: Request, state: StateDep, member: MemberDep, ticket_id: uuid.UUID
) -> Response:
    return render(request, "ticket.html", await _ticket_context(state, member, ticket_id))


@router.post("/support/tickets/{ticket_id}/messages")
async def reply(
    request: Request, state: StateDep, member: WriterDep, ticket_id: uuid.UUID
) -> Response:
    values, uploads = await read_message(request, ("body",))
    try:
        files = check_all(uploads)
        async with state.db.tenant_session(member.principal.org_id) as session:
            await tickets.org_reply(
                session, member.principal, ticket_id, values.get("body", ""), files
            )
    except FORM_ERRORS as exc:
        status, message = _status_of(exc)
        context = await _ticket_context(state, member, ticket_id)
        context["draft"] = values.get("body", "")[:20_000]
        return render(request, "ticket.html", context, status=status, error=message)
    flash = Flash("Reply sent. VixPro support has been notified.")
    return redirect(request, f"/support/tickets/{ticket_id}", member.signed_in, flash)


@router.post("/support/tickets/{ticket_id}/close")
async def close(
    request: Request, state: StateDep, member: WriterDep, ticket_id: uuid.UUID
) -> Response:
    try:
        async with state.db.tenant_session(member.principal.org_id) as session:
            await tickets.set_status(session, member.principal.actor, "org", ticket_id, "resolved")
    except FORM_ERRORS as exc:
        status, message = error_message(exc)
        context = await _ticket_context(state, member, ticket_id)
        return render(request, "ticket.html", context, status=status, error=message)
    return redirect(request, f"/support/tickets/{ticket_id}", member.signed_in, Flash("Closed."))


@router.get("/support/tickets/{ticket_id}/attachments/{attachment_id}")
async def attachment(
    state: StateDep, member: MemberDep, ticket_id: uuid.UUID, attachment_id: uuid.UUID
) -> Response:
    async with state.db.tenant_session(member.principal.org_id) as session:
        return download(await tickets.get_attachment(session, ticket_id, attachment_id))


# The staff console's ticket desk.


@router.get("/staff/tickets")
async def staff_tickets(
    request: Request,
    state: StateDep,
    staff_user: StaffDep,
    resolved: Annotated[bool, Query()] = False,
) -> Response:
    async with state.db.system_session("staff console: list tickets") as session:
        rows = await tickets.staff_list(session, staff_user.actor, include_resolved=resolved)
    return render(request, "staff/tickets.html", {"rows": rows, "resolved": resolved})


async def _staff_context(
    state: AppState, staff_user: Staff, ticket_id: uuid.UUID
) -> dict[str, Any]:
    async with state.db.system_session("staff console: ticket") as session:
        detail = await tickets.staff_get(session, staff_user.actor, ticket_id)
    return {
        "detail": detail,
        "may_write": True,
        "base": f"/staff/tickets/{ticket_id}",
        "staff_view": True,
        "limits": LIMITS,
    }


@router.get("/staff/tickets/{ticket_id}")
async def staff_ticket(
    request: Request, state: StateDep, staff_user: StaffDep, ticket_id: uuid.UUID
) -> Response:
    return render(request, "staff/ticket.html", await _staff_context(state, staff_user, ticket_id))


@router.post("/staff/tickets/{ticket_id}/messages")
async def staff_reply(
    request: Request, state: StateDep, staff_user: StaffWriterDep, ticket_id: uuid.UUID
) -> Response:
    values, uploads = await read_message(request, ("body",))
    try:
        files = check_all(uploads)
        async with state.db.system_session("staff console: answer ticket") as session:
            await tickets.staff_reply(
                session, staff_user.actor, ticket_id, values.get("body", ""), files
            )
    except FORM_ERRORS as exc:
        status, message = _status_of(exc)
        context = await _staff_context(state, staff_user, ticket_id)
        context["draft"] = values.get("body", "")[:20_000]
        return render(request, "staff/ticket.html", context, status=status, error=message)
    flash = Flash("Answer sent; the organisation has been notified.")
    return redirect(request, f"/staff/tickets/{ticket_id}", staff_user.signed_in, flash)


@router.post("/staff/tickets/{ticket_id}/status")
async def staff_status(
    request: Request,
    state: StateDep,
    staff_user: StaffWriterDep,
    ticket_id: uuid.UUID,
    status: Annotated[str, Form(max_length=16)],
) -> Response:
    try:
        if status not in ("mitigated", "resolved"):
            raise InvalidInput("status", "must be mitigated or resolved")
        async with state.db.system_session("staff console: ticket status") as session:
            await tickets.set_status(session, staff_user.actor, "staff", ticket_id, status)
    except FORM_ERRORS as exc:
        code, message = error_message(exc)
        context = await _staff_context(state, staff_user, ticket_id)
        return render(request, "staff/ticket.html", context, status=code, error=message)
    flash = Flash(f"Marked {status}; the organisation has been notified.")
    return redirect(request, f"/staff/tickets/{ticket_id}", staff_user.signed_in, flash)


@router.get("/staff/tickets/{ticket_id}/attachments/{attachment_id}")
async def staff_attachment(
    state: StateDep, staff_user: StaffDep, ticket_id: uuid.UUID, attachment_id: uuid.UUID
) -> Response:
    async with state.db.system_session("staff console: ticket attachment") as session:
        row = await tickets.staff_attachment(session, staff_user.actor, ticket_id, attachment_id)
    return download(row)
