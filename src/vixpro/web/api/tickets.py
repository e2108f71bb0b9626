"""Support tickets: the organisation's side under ``/tickets``, platform staff's under
``/staff/tickets``. Messages take JSON, or ``multipart/form-data`` with up to three ``files``
(PNG, JPEG, WebP or PDF, 10 MiB each, type read from the content)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.datastructures import FormData, UploadFile

from vixpro.support import tickets
from vixpro.support.attachments import MAX_BYTES, AttachmentTooLarge, Checked, Upload, check_all
from vixpro.support.tickets import TicketDetail
from vixpro.web.api.pagination import Page, PageDep
from vixpro.web.api.schemas import Strict
from vixpro.web.api.staff import StaffDep
from vixpro.web.deps import PrincipalDep, StateDep
from vixpro.web.problems import ApiError

org_router = APIRouter(tags=["support tickets"])
staff_router = APIRouter(prefix="/staff", tags=["staff"])

_MULTIPART_DOC: dict[str, Any] = {
    "requestBody": {
        "content": {
            "application/json": {
                "schema": {"type": "object", "properties": {"body": {"type": "string"}}}
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "body": {"type": "string"},
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                    },
                }
            },
        }
    }
}


class ClockOut(BaseModel):
    name: str
    label: str
    due_at: datetime
    state: Literal["running", "met", "met_late", "breached"]
    remaining_seconds: int


class AttachmentOut(BaseModel):
    id: UUID
    filename: str
    content_type: str
    size: int
    sha256: str


class MessageOut(BaseModel):
    id: UUID
    side: Literal["org", "staff"]
    author: str
    body: str
    created_at: datetime
    attachments: list[AttachmentOut] = Field(default_factory=list)


class TicketOut(BaseModel):
    id: UUID
    subject: str
    severity: Literal["critical", "normal"]
    status: Literal["open", "mitigated", "resolved"]
    priority_support: bool
    opened_by: str
    opened_at: datetime
    first_staff_reply_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    escalated: bool
    organisation: str | None = None

    @classmethod
    def of(cls, t: Any, organisation: str | None = None) -> TicketOut:
        return cls(
            id=t.id,
            subject=t.subject,
            severity=t.severity,
            status=t.status,
            priority_support=t.priority_support,
            opened_by=t.opened_by_label,
            opened_at=t.opened_at,
            first_staff_reply_at=t.first_staff_reply_at,
            mitigated_at=t.mitigated_at,
            resolved_at=t.resolved_at,
            escalated=t.escalated_at is not None,
            organisation=organisation,
        )


class TicketDetailOut(TicketOut):
    clocks: list[ClockOut]
    messages: list[MessageOut]

    @classmethod
    def of_detail(cls, d: TicketDetail) -> TicketDetailOut:
        base = TicketOut.of(d.ticket, d.org_name or None).model_dump()
        return cls(
            **base,
            clocks=[ClockOut.model_validate(c, from_attributes=True) for c in d.clocks],
            messages=[
                MessageOut(
                    id=m.id,
                    side=m.side,
                    author=m.author_label,
                    body=m.body,
                    created_at=m.created_at,
                    attachments=[
                        AttachmentOut.model_validate(a, from_attributes=True)
                        for a in d.attachments.get(m.id, [])
                    ],
                )
                for m in d.messages
            ],
        )


class StatusIn(Strict):
    status: Literal["mitigated", "resolved"]


async def _read_files(form: FormData) -> list[Upload]:
    uploads = []
    for value in form.getlist("files"):
        if not isinstance(value, UploadFile):
            raise ApiError(422, "files: send files as file parts", type_="validation")
        data = await value.read(MAX_BYTES + 1)
        if not value.filename and not data:  # a form's empty file input
            continue
        uploads.append(Upload(value.filename or "", data))
    return uploads


async def read_message(
    request: Request, fields: tuple[str, ...]
) -> tuple[dict[str, str], list[Upload]]:
    """The text ``fields`` and the files of a JSON or multipart request (nothing is stored yet)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in {"multipart/form-data", "application/x-www-form-urlencoded"}:
        form = await request.form()
        try:
            values = {f: v for f in fields if isinstance(v := form.get(f, ""), str)}
            return values, await _read_files(form)
        finally:
            await form.close()  # the spooled temporary files
    raw = await request.body()
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        raise ApiError(422, "request body is not valid JSON", type_="validation") from None
    if not isinstance(parsed, dict):
        raise ApiError(422, "the body must be a JSON object", type_="validation")
    return {f: v for f in fields if isinstance(v := parsed.get(f, ""), str)}, []


def checked(uploads: list[Upload]) -> list[Checked]:
    try:
        return check_all(uploads)
    except AttachmentTooLarge as exc:
        raise ApiError(413, f"{exc.field}: {exc.message}", type_="body-too-large") from None


def download(row: Any) -> Response:
    """The stored bytes with the type found at upload; images inline, PDFs as a download."""
    disposition = "attachment" if row.content_type == "application/pdf" else "inline"
    safe = "".join(ch if ch.isalnum() or ch in "._- " else "_" for ch in row.filename)
    return Response(
        content=row.data,
        media_type=row.content_type,
        headers={
            "Content-Disposition": f'{disposition}; filename="{safe}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, max-age=300",
        },
    )


@org_router.get("/tickets", response_model=Page[TicketOut], summary="Your organisation's tickets")
async def list_tickets(
    principal: PrincipalDep,
    state: StateDep,
    page: PageDep,
    status_: Annotated[str | None, Query(alias="status")] = None,
) -> Page[TicketOut]:
    async with state.db.tenant_session(principal.org_id) as session:
        rows = await tickets.list_tickets(
            session, status=status_, limit=page.limit, cursor=page.cursor
        )
    return Page(
        items=[TicketOut.of(t) for t in rows],
        next_cursor=page.next([(t.opened_at, t.id) for t in rows]),
    )


@org_router.post(
    "/tickets",
    response_model=TicketDetailOut,
    status_code=status.HTTP_201_CREATED,
    summary="Open a ticket (JSON, or multipart with files)",
    openapi_extra=_MULTIPART_DOC,
)
async def open_ticket(
    request: Request, principal: PrincipalDep, state: StateDep
) -> TicketDetailOut:
    values, uploads = await read_message(request, ("subject", "severity", "body"))
    files = checked(uploads)
    async with state.db.tenant_session(principal.org_id) as session:
        ticket = await tickets.open_ticket(
            session,
            principal,
            subject=values.get("subject", ""),
            severity=values.get("severity", "normal") or "normal",
            body=values.get("body", ""),
            files=files,
        )
        return TicketDetailOut.of_detail(await tickets.get_ticket(session, ticket.id))


@org_router.get("/tickets/{ticket_id}", response_model=TicketDetailOut, summary="A conversation")
async def get_ticket(ticket_id: UUID, principal: PrincipalDep, state: StateDep) -> TicketDetailOut:
    async with state.db.tenant_session(principal.org_id) as session:
        return TicketDetailOut.of_detail(await tickets.get_ticket(session, ticket_id))


@org_router.post(
    "/tickets/{ticket_id}/messages",
    response_model=TicketDetailOut,
    status_code=status.HTTP_201_CREATED,
    summary="Reply (staff are notified)",
    openapi_extra=_MULTIPART_DOC,
)
async def reply(
    ticket_id: UUID, request: Request, principal: PrincipalDep, state: StateDep
) -> TicketDetailOut:
    async with state.db.tenant_session(principal.org_id) as session:
        await tickets.get_ticket(session, ticket_id)  # another org's id is a 404 before the body
    values, uploads = await read_message(request, ("body",))
    files = checked(uploads)
    async with state.db.tenant_session(principal.org_id) as session:
        await tickets.org_reply(session, principal, ticket_id, values.get("body", ""), files)
        return TicketDetailOut.of_detail(await tickets.get_ticket(session, ticket_id))


@org_router.post(
    "/tickets/{ticket_id}/close", response_model=TicketOut, summary="Close (mark resolved)"
)
async def close(ticket_id: UUID, principal: PrincipalDep, state: StateDep) -> TicketOut:
    async with state.db.tenant_session(principal.org_id) as session:
        return TicketOut.of(
            await tickets.set_status(session, principal.actor, "org", ticket_id, "resolved")
        )


@org_router.get(
    "/tickets/{ticket_id}/attachments/{attachment_id}", summary="Download an attachment"
)
async def get_attachment(
    ticket_id: UUID, attachment_id: UUID, principal: PrincipalDep, state: StateDep
) -> Response:
    async with state.db.tenant_session(principal.org_id) as session:
        return download(await tickets.get_attachment(session, ticket_id, attachment_id))


@staff_router.get(
    "/tickets", response_model=list[TicketOut], summary="Every organisation's tickets (audited)"
)
async def staff_list(
    actor: StaffDep, state: StateDep, include_resolved: bool = False
) -> list[TicketOut]:
    async with state.db.system_session("staff console: list tickets") as session:
        rows = await tickets.staff_list(session, actor, include_resolved=include_resolved)
    return [TicketOut.of(t, org) for t, org in rows]


@staff_router.get("/tickets/{ticket_id}", response_model=TicketDetailOut, summary="A ticket")
async def staff_get(ticket_id: UUID, actor: StaffDep, state: StateDep) -> TicketDetailOut:
    async with state.db.system_session("staff console: ticket") as session:
        return TicketDetailOut.of_detail(await tickets.staff_get(session, actor, ticket_id))


@staff_router.post(
    "/tickets/{ticket_id}/messages",
    response_model=TicketDetailOut,
    status_code=status.HTTP_201_CREATED,
    summary="Answer (meets the first-response clock; the organisation is notified)",
    openapi_extra=_MULTIPART_DOC,
)
async def staff_reply(
    ticket_id: UUID, request: Request, actor: StaffDep, state: StateDep
) -> TicketDetailOut:
    values, uploads = await read_message(request, ("body",))
    files = checked(uploads)
    async with state.db.system_session("staff console: answer ticket") as session:
        await tickets.staff_reply(session, actor, ticket_id, values.get("body", ""), files)
        return TicketDetailOut.of_detail(await tickets.staff_get(session, actor, ticket_id))


@staff_router.post(
    "/tickets/{ticket_id}/status", response_model=TicketOut, summary="Mark mitigated or resolved"
)
async def staff_status(
    ticket_id: UUID, body: StatusIn, actor: StaffDep, state: StateDep
) -> TicketOut:
    async with state.db.system_session("staff console: ticket status") as session:
        return TicketOut.of(
            await tickets.set_status(session, actor, "staff", ticket_id, body.status)
        )


@staff_router.get("/tickets/{ticket_id}/attachments/{attachment_id}", summary="An attachment")
async def staff_attachment(
    ticket_id: UUID, attachment_id: UUID, actor: StaffDep, state: StateDep
) -> Response:
    async with state.db.system_session("staff console: ticket attachment") as session:
        return download(await tickets.staff_attachment(session, actor, ticket_id, attachment_id))


router = APIRouter()
router.include_router(org_router)
router.include_router(staff_router)
