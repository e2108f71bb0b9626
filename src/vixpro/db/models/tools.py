"""Manifests, per-organisation tool permissions, executions, approvals, action items."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from vixpro.db.models.base import Base, now_column, uuid_pk


class PlatformKey(Base):
    """The platform's signing key pair; the private half encrypted under the master key."""

    __tablename__ = "platform_keys"

    id: Mapped[uuid.UUID] = uuid_pk()
    purpose: Mapped[str] = mapped_column(String(32), unique=True)
    public_pem: Mapped[str] = mapped_column(Text)
    private_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = now_column()


class Manifest(Base):
    """Every signed tool manifest ever issued; the highest version is current."""

    __tablename__ = "manifests"

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSONB)
    signature: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = now_column()


class ToolSetting(Base):
    __tablename__ = "tool_settings"

    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    tool: Mapped[str] = mapped_column(String(64), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    approval_required: Mapped[bool] = mapped_column(Boolean)
    updated_by: Mapped[str] = mapped_column(String(254))
    updated_at: Mapped[datetime] = now_column()


class ToolExecution(Base):
    """One tool call: the audit trail of everything run on a server."""

    __tablename__ = "tool_executions"

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organisations.id", ondelete="CASCADE")
    )
    server_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("servers.id", ondelete="CASCADE")
    )
    tool: Mapped[str] = mapped_column(String(64))
    risk: Mapped[str] = mapped_column(String(8))
    params: Mapped[dict[str, Any]] = mapped_column(JSONB)
    requested_by_type: Mapped[str] = mapped_column(String(16))
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    requested_by_label: Mapped[str] = mapped_column(String(254))
    area: Mapped[str] = mapped_column(String(16))
    incident_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(24))
    output: Mapped[Any | None] = mapped_column(JSONB)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    error: Mapped[str | None] = mapped_column(Text)
    error_kind: Mapped[str | None] = mapped_column(String(32))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    deadline_ms: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = now_column()
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(
            "status IN ('awaiting_approval', 'queued', 'running', 'succeeded', 'failed', "
            "'denied', 'expired')",
            name="status",
        ),
        CheckConstraint(
            "area IN ('manual', 'reactive', 'chat', 'circles', 'maintenance')", name="area"
        ),
        Index("ix_tool_executions_org_created", "org_id", "created_at", "id"),
        Index("ix_tool_executions_server", "server_id", "created_at"),
    )


class Approval(Base):
    __tablename__ = "approvals"

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organisations.id", ondelete="CASCADE")
    )
    execution_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tool_executions.id", ondelete="CASCADE"), unique=True
    )
    state: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(254))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = now_column()

    __table_args__ = (
        CheckConstraint("state IN ('pending', 'approved', 'denied', 'expired')", name="state"),
        Index("ix_approvals_org_state", "org_id", "state", "expires_at"),
    )


class ActionItem(Base):
    """A platform-side problem (a tool failing for platform reasons) tracked to resolution."""

    __tablename__ = "action_items"

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organisations.id", ondelete="CASCADE")
    )
    tool: Mapped[str] = mapped_column(String(64))
    error_kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(24), default="pending", server_default="pending")
    title: Mapped[str] = mapped_column(String(255))
    detail: Mapped[str] = mapped_column(Text)
    occurrences: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    first_seen_at: Mapped[datetime] = now_column()
    last_seen_at: Mapped[datetime] = now_column()

    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'pending_fix', 'pending_org_review', 'backlog', 'resolved')",
            name="status",
        ),
        Index(
            "uq_action_items_open",
            "org_id",
            "tool",
            "error_kind",
            unique=True,
            postgresql_where="status <> 'resolved'",
        ),
    )
