"""Support tickets: a conversation between an organisation and platform staff, with attachments,
response clocks (``core.clocks``) and a notification to the other side on every message.

The organisation works in its tenant session; staff work across organisations in a system
session, and every staff read is audited. A ticket is ``open``, then optionally ``mitigated``
(Critical update clock stops), then ``resolved``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.accounts import audit
from vixpro.accounts.errors import Conflict, Forbidden, InvalidInput, NotFound
from vixpro.accounts.principal import Actor, Principal
from vixpro.core import clocks as core_clocks
from vixpro.core.alerts import Tier
from vixpro.core.pagination import Cursor
from vixpro.db.models import Organisation
from vixpro.db.models.support import Ticket, TicketAttachment, TicketMessage
from vixpro.db.paging import keyset
from vixpro.notify.events import EventKind
from vixpro.notify.outbox import emit
from vixpro.support.attachments import Checked

MAX_SUBJECT = 200
MAX_BODY = 20_000
Side = Literal["org", "staff"]


class TicketStatus(StrEnum):
    OPEN = "open"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"


# Who may move a ticket where: staff mitigate and resolve; the organisation may close its own.
_MOVES: dict[tuple[TicketStatus, TicketStatus], frozenset[str]] = {
    (TicketStatus.OPEN, TicketStatus.MITIGATED): frozenset({"staff"}),
    (TicketStatus.OPEN, TicketStatus.RESOLVED): frozenset({"staff", "org"}),
    (TicketStatus.MITIGATED, TicketStatus.RESOLVED): frozenset({"staff", "org"}),
}


@dataclass(frozen=True)
class ClockView:
    name: str
    label: str
    due_at: datetime
    state: str
    remaining_seconds: int


@dataclass(frozen=True)
class TicketDetail:
    ticket: Ticket
    messages: list[TicketMessage]
    attachments: dict[uuid.UUID, list[TicketAttachment]] = field(default_factory=dict)
    clocks: list[ClockView] = field(default_factory=list)
    org_name: str = ""


CLOCK_LABELS = {
    core_clocks.ClockName.FIRST_RESPONSE: "First response",
    core_clocks.ClockName.UPDATE: "Next update",
    core_clocks.ClockName.RESOLUTION: "Resolution",
}


def _core(ticket: Ticket) -> core_clocks.Ticket:
    return core_clocks.Ticket(
        severity=Tier(ticket.severity),
        opened_at=ticket.opened_at,
        first_staff_reply_at=ticket.first_staff_reply_at,
        last_staff_reply_at=ticket.last_staff_reply_at,
        mitigated_at=ticket.mitigated_at,
        resolved_at=ticket.resolved_at,
    )


def clock_views(ticket: Ticket, now: datetime) -> list[ClockView]:
    """The ticket's clocks as both sides see them; none on a best-effort (free) plan."""
    return [
        ClockView(
            c.name.value,
            CLOCK_LABELS[c.name],
            c.due_at,
            c.state(now).value,
            int(c.remaining(now).total_seconds()),
        )
        for c in core_clocks.clocks(_core(ticket), priority_support=ticket.priority_support)
    ]


def _text(field_name: str, value: str, limit: int) -> str:
    value = value.strip()
    if not value:
        raise InvalidInput(field_name, "cannot be empty")
    if len(value) > limit:
        raise InvalidInput(field_name, f"at most {limit:,} characters")
    return value


def _severity(value: str) -> Tier:
    try:
        return Tier(value)
    except ValueError:
        raise InvalidInput("severity", "must be 'critical' or 'normal'") from None


async def open_ticket(
    session: AsyncSession,
    principal: Principal,
    *,
    subject: str,
    severity: str,
    body: str,
    files: Sequence[Checked] = (),
) -> Ticket:
    if principal.role.read_only:
        raise Forbidden(f"the {principal.role.value} role is read-only")
    ticket = Ticket(
        org_id=principal.org_id,
        subject=_text("subject", subject, MAX_SUBJECT),
        severity=_severity(severity).value,
        status=TicketStatus.OPEN.value,
        priority_support=principal.plan.priority_support,
        opened_by_user_id=principal.user_id,
        opened_by_label=principal.label,
        breaches=[],
    )
    text = _text("body", body, MAX_BODY)
    session.add(ticket)
    await session.flush()
    await _add_message(session, ticket, "org", principal.user_id, principal.label, text, files)
    await session.refresh(ticket)
    await audit.record(
        session,
        principal.actor,
        "ticket.opened",
        org_id=ticket.org_id,
        target_type="ticket",
        target_id=ticket.id,
        details={"severity": ticket.severity, "attachments": len(files)},
    )
    await emit(
        session,
        ticket.org_id,
        EventKind.TICKET_REPLY,
        f"New {ticket.severity} ticket from {principal.org_name}: {ticket.subject}",
        body=text[:1000],
        link=f"/staff/tickets/{ticket.id}",
        subject_id=ticket.id,
        data={"audience": "staff", "severity": ticket.severity, "side": "org"},
    )
    return ticket


async def list_tickets(
    session: AsyncSession, *, status: str | None, limit: int, cursor: Cursor | None
) -> Sequence[Ticket]:
    query = keyset(select(Ticket), Ticket.opened_at, Ticket.id, cursor, limit, newest_first=True)
    if status:
        query = query.where(Ticket.status == _ticket_status(status).value)
    return (await session.scalars(query)).all()


def _ticket_status(value: str) -> TicketStatus:
    try:
        return TicketStatus(value)
    except ValueError:
        raise InvalidInput("status", "must be 'open', 'mitigated' or 'resolved'") from None


async def _detail(session: AsyncSession, ticket: Ticket, org_name: str = "") -> TicketDetail:
    messages = (
        await session.scalars(
            select(TicketMessage)
            .where(TicketMessage.ticket_id == ticket.id)
            .order_by(TicketMessage.created_at, TicketMessage.id)
        )
    ).all()
    files = (
        await session.scalars(
            select(TicketAttachment)
            .where(TicketAttachment.ticket_id == ticket.id)
            .order_by(TicketAttachment.created_at)
        )
    ).all()
    by_message: dict[uuid.UUID, list[TicketAttachment]] = {}
    for f in files:
        by_message.setdefault(f.message_id, []).append(f)
    now = datetime.now(UTC)
    return TicketDetail(ticket, list(messages), by_message, clock_views(ticket, now), org_name)


async def get_ticket(session: AsyncSession, ticket_id: uuid.UUID) -> TicketDetail:
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("ticket")
    return await _detail(session, ticket)


async def get_attachment(
    session: AsyncSession, ticket_id: uuid.UUID, attachment_id: uuid.UUID
) -> TicketAttachment:
    row = await session.scalar(
        select(TicketAttachment)
        .where(TicketAttachment.id == attachment_id, TicketAttachment.ticket_id == ticket_id)
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise NotFound("attachment")
    await session.refresh(row, ["data"])
    return row


async def _locked(session: AsyncSession, ticket_id: uuid.UUID) -> Ticket:
    ticket = await session.scalar(select(Ticket).where(Ticket.id == ticket_id).with_for_update())
    if ticket is None:
        raise NotFound("ticket")
    return ticket


async def _add_message(
    session: AsyncSession,
    ticket: Ticket,
    side: Side,
    user_id: uuid.UUID | None,
    label: str,
    body: str,
    files: Sequence[Checked],
) -> TicketMessage:
    message = TicketMessage(
        org_id=ticket.org_id,
        ticket_id=ticket.id,
        side=side,
        author_user_id=user_id,
        author_label=label,
        body=body,
    )
    session.add(message)
    await session.flush()
    for f in files:
        session.add(
            TicketAttachment(
                org_id=ticket.org_id,
                ticket_id=ticket.id,
                message_id=message.id,
                filename=f.filename,
                content_type=f.content_type,
                size=f.size,
                sha256=f.sha256,
                data=f.data,
            )
        )
    await session.flush()
    await session.refresh(message)
    return message


async def org_reply(
    session: AsyncSession,
    principal: Principal,
    ticket_id: uuid.UUID,
    body: str,
    files: Sequence[Checked] = (),
) -> TicketMessage:
    if principal.role.read_only:
        raise Forbidden(f"the {principal.role.value} role is read-only")
    text = _text("body", body, MAX_BODY)
    ticket = await _locked(session, ticket_id)
    if ticket.status == TicketStatus.RESOLVED.value:
        raise Conflict("this ticket is resolved; open a new ticket for a new question")
    message = await _add_message(
        session, ticket, "org", principal.user_id, principal.label, text, files
    )
    ticket.last_org_reply_at = message.created_at
    ticket.updated_at = message.created_at
    await audit.record(
        session,
        principal.actor,
        "ticket.replied",
        org_id=ticket.org_id,
        target_type="ticket",
        target_id=ticket.id,
        details={"attachments": len(files)},
    )
    await emit(
        session,
        ticket.org_id,
        EventKind.TICKET_REPLY,
        f"{principal.org_name} replied: {ticket.subject}",
        body=text[:1000],
        link=f"/staff/tickets/{ticket.id}",
        subject_id=ticket.id,
        data={"audience": "staff", "severity": ticket.severity, "side": "org"},
    )
    return message


async def staff_reply(
    session: AsyncSession,
    actor: Actor,
    ticket_id: uuid.UUID,
    body: str,
    files: Sequence[Checked] = (),
) -> TicketMessage:
    """A human reply from platform staff: the only thing that meets the first-response clock."""
    text = _text("body", body, MAX_BODY)
    ticket = await _locked(session, ticket_id)
    if ticket.status == TicketStatus.RESOLVED.value:
        raise Conflict("this ticket is resolved")
    message = await _add_message(session, ticket, "staff", actor.id, actor.label, text, files)
    if ticket.first_staff_reply_at is None:
        ticket.first_staff_reply_at = message.created_at
    ticket.last_staff_reply_at = message.created_at
    ticket.updated_at = message.created_at
    await audit.record(
        session,
        actor,
        "ticket.staff_replied",
        org_id=ticket.org_id,
        target_type="ticket",
        target_id=ticket.id,
        details={"attachments": len(files)},
    )
    await _tell_org(session, ticket, f"VixPro support replied: {ticket.subject}", text[:1000])
    return message


async def _tell_org(session: AsyncSession, ticket: Ticket, title: str, body: str) -> None:
    """Bell and email to whoever opened the ticket, or to every member if they have gone."""
    data: dict[str, object] = {"severity": ticket.severity, "side": "staff"}
    if ticket.opened_by_user_id is not None:
        data |= {"audience": "users", "user_ids": [str(ticket.opened_by_user_id)]}
    else:
        data["audience"] = "members"
    await emit(
        session,
        ticket.org_id,
        EventKind.TICKET_REPLY,
        title,
        body=body,
        link=f"/support/tickets/{ticket.id}",
        subject_id=ticket.id,
        data=data,
    )


async def set_status(
    session: AsyncSession,
    actor: Actor,
    side: Side,
    ticket_id: uuid.UUID,
    status: str,
) -> Ticket:
    ticket = await _locked(session, ticket_id)
    current, to = TicketStatus(ticket.status), _ticket_status(status)
    movers = _MOVES.get((current, to))
    if movers is None:
        raise Conflict(f"a ticket that is {current.value} cannot become {to.value}")
    if side not in movers:
        raise Forbidden(f"only VixPro staff may mark a ticket {to.value}")
    now = datetime.now(UTC)
    ticket.status = to.value
    ticket.updated_at = now
    if to is TicketStatus.MITIGATED:
        ticket.mitigated_at = now
    if to is TicketStatus.RESOLVED:
        ticket.resolved_at = now
        ticket.mitigated_at = ticket.mitigated_at or now
    await session.flush()
    await audit.record(
        session,
        actor,
        f"ticket.{to.value}",
        org_id=ticket.org_id,
        target_type="ticket",
        target_id=ticket.id,
    )
    title = f"Ticket {to.value}: {ticket.subject}"
    if side == "staff":
        await _tell_org(session, ticket, title, f"VixPro support marked the ticket {to.value}.")
    else:
        await emit(
            session,
            ticket.org_id,
            EventKind.TICKET_REPLY,
            title,
            body=f"{actor.label} closed the ticket.",
            link=f"/staff/tickets/{ticket.id}",
            subject_id=ticket.id,
            data={"audience": "staff", "severity": ticket.severity, "side": "org"},
        )
    return ticket


async def staff_list(
    session: AsyncSession, actor: Actor, *, include_resolved: bool, limit: int = 200
) -> list[tuple[Ticket, str]]:
    """Every organisation's tickets, escalated first, then oldest first (system session)."""
    query = (
        select(Ticket, Organisation.name)
        .join(Organisation, Organisation.id == Ticket.org_id)
        .order_by(Ticket.escalated_at.desc().nulls_last(), Ticket.opened_at, Ticket.id)
        .limit(limit)
    )
    if not include_resolved:
        query = query.where(Ticket.status != TicketStatus.RESOLVED.value)
    rows = [(t, str(n)) for t, n in (await session.execute(query)).all()]
    await audit.record(
        session, actor, "staff.tickets_listed", org_id=None, details={"count": len(rows)}
    )
    return rows


async def staff_get(session: AsyncSession, actor: Actor, ticket_id: uuid.UUID) -> TicketDetail:
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("ticket")
    org = await session.get(Organisation, ticket.org_id)
    await audit.record(
        session,
        actor,
        "staff.ticket_viewed",
        org_id=ticket.org_id,
        target_type="ticket",
        target_id=ticket.id,
    )
    return await _detail(session, ticket, org.name if org else "")


async def staff_attachment(
    session: AsyncSession, actor: Actor, ticket_id: uuid.UUID, attachment_id: uuid.UUID
) -> TicketAttachment:
    row = await get_attachment(session, ticket_id, attachment_id)
    await audit.record(
        session,
        actor,
        "staff.ticket_attachment_read",
        org_id=row.org_id,
        target_type="ticket_attachment",
        target_id=row.id,
    )
    return row


async def escalate_breaches(session: AsyncSession, now: datetime | None = None) -> int:
    """Flag every ticket with a newly breached clock as escalated and tell staff, once per
    breach (system session; the periodic sweep). Returns how many breaches were new."""
    now = now or datetime.now(UTC)
    tickets = (
        await session.scalars(
            select(Ticket)
            .where(Ticket.status != TicketStatus.RESOLVED.value, Ticket.priority_support)
            .order_by(Ticket.opened_at)
            .with_for_update(skip_locked=True)
        )
    ).all()
    new = 0
    for ticket in tickets:
        breached = core_clocks.open_breaches(_core(ticket), priority_support=True, now=now)
        known = set(ticket.breaches or [])
        fresh = [c for c in breached if c.key not in known]
        if not fresh:
            continue
        new += len(fresh)
        ticket.breaches = [*ticket.breaches, *(c.key for c in fresh)]
        ticket.escalated_at = ticket.escalated_at or now
        names = ", ".join(CLOCK_LABELS[c.name].lower() for c in fresh)
        await emit(
            session,
            ticket.org_id,
            EventKind.TICKET_REPLY,
            f"Escalated ({ticket.severity}): {ticket.subject}",
            body=f"The {names} target was missed.",
            link=f"/staff/tickets/{ticket.id}",
            subject_id=ticket.id,
            data={
                "audience": "staff",
                "severity": ticket.severity,
                "escalated": True,
                "clocks": [c.name.value for c in fresh],
            },
        )
        await audit.record(
            session,
            Actor("system", None, "vixpro"),
            "ticket.escalated",
            org_id=ticket.org_id,
            target_type="ticket",
            target_id=ticket.id,
            details={"clocks": [c.key for c in fresh]},
        )
    await session.flush()
    return new
