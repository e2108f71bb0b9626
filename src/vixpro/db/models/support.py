"""Support: action-item history and tool holds, tickets and their conversation, announcements."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, deferred, mapped_column

from vixpro.db.models.base import Base, now_column, uuid_pk


def _org() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), ForeignKey("organisations.id", ondelete="CASCADE"))


class ActionItemEvent(Base):
    """One change of an action item's status: when, from what, to what, by whom."""

    __tablename__ = "action_item_events"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    org_id: Mapped[uuid.UUID] = _org()
    action_item_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("action_items.id", ondelete="CASCADE")
    )
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    mover: Mapped[str] = mapped_column(String(8))
    actor_label: Mapped[str] = mapped_column(String(254))
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    at: Mapped[datetime] = now_column()


class ActionItemToolHold(Base):
    """A tool disabled while the platform team fixes it, with what to restore afterwards."""

    __tablename__ = "action_item_tool_holds"

    action_item_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("action_items.id", ondelete="CASCADE"), primary_key=True
    )
    org_id: Mapped[uuid.UUID] = _org()
    tool: Mapped[str] = mapped_column(String(64))
    was_enabled: Mapped[bool] = mapped_column(Boolean)
    was_approval_required: Mapped[bool] = mapped_column(Boolean)
    held_at: Mapped[datetime] = now_column()


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = _org()
    subject: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(12), default="open", server_default="open")
    priority_support: Mapped[bool] = mapped_column(Boolean)
    opened_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL")
    )
    opened_by_label: Mapped[str] = mapped_column(String(254))
    opened_at: Mapped[datetime] = now_column()
    first_staff_reply_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_staff_reply_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_org_reply_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    mitigated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    breaches: Mapped[list[Any]] = mapped_column(JSONB, default=list, server_default="[]")
    updated_at: Mapped[datetime] = now_column()


class TicketMessage(Base):
    __tablename__ = "ticket_messages"

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = _org()
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tickets.id", ondelete="CASCADE")
    )
    side: Mapped[str] = mapped_column(String(8))
    author_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    author_label: Mapped[str] = mapped_column(String(254))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = now_column()


class TicketAttachment(Base):
    __tablename__ = "ticket_attachments"

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = _org()
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tickets.id", ondelete="CASCADE")
    )
    message_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("ticket_messages.id", ondelete="CASCADE")
    )
    filename: Mapped[str] = mapped_column(String(120))
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # Loaded only when downloaded: listing a conversation never reads the bytes.
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    created_at: Mapped[datetime] = now_column()


class Announcement(Base):
    """Platform maintenance, announced to every organisation; not tenant data."""

    __tablename__ = "announcements"

    id: Mapped[uuid.UUID] = uuid_pk()
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="", server_default="")
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    emergency: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = now_column()
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
