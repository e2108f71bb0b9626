"""Integrations, alerts, incidents and what shapes them: settings, budgets, storms, windows."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from vixpro.db.models.base import Base, now_column, uuid_pk


def _org() -> Mapped[uuid.UUID]:
    return mapped_column(
        UUID(as_uuid=True), ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False
    )


class IncidentSettings(Base):
    """One row per organisation; absent means the defaults."""

    __tablename__ = "incident_settings"

    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    group_window_s: Mapped[int] = mapped_column(Integer, default=300)
    auto_resolve: Mapped[bool] = mapped_column(Boolean, default=True)
    alert_budget: Mapped[int | None] = mapped_column(Integer)
    storm_threshold: Mapped[int] = mapped_column(Integer, default=20)
    storm_window_s: Mapped[int] = mapped_column(Integer, default=300)
    storm_quiet_s: Mapped[int] = mapped_column(Integer, default=600)
    updated_at: Mapped[datetime] = now_column()


class Integration(Base):
    __tablename__ = "integrations"

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = _org()
    source: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(120))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    token_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    signing_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    alerts_received: Mapped[int] = mapped_column(BigInteger, default=0)
    last_alert_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = now_column()

    __table_args__ = (Index("ix_integrations_org", "org_id", "created_at"),)


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = _org()
    number: Mapped[int] = mapped_column(BigInteger)
    title: Mapped[str] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(16), default="open")
    severity: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(32))
    group_key: Mapped[str] = mapped_column(String(80))
    server_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("servers.id", ondelete="SET NULL")
    )
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL")
    )
    manual_mode: Mapped[bool] = mapped_column(Boolean, default=False)
    manual_reason: Mapped[str | None] = mapped_column(Text)
    storm: Mapped[bool] = mapped_column(Boolean, default=False)
    ai_state: Mapped[str] = mapped_column(String(16), default="none")
    alert_count: Mapped[int] = mapped_column(Integer, default=0)
    open_alerts: Mapped[int] = mapped_column(Integer, default=0)
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    first_alert_received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_alert_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = now_column()
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[str | None] = mapped_column(String(254))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(254))
    ai_queued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    diagnosis_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_tool_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    diagnosis_completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("state IN ('open', 'acknowledged', 'resolved')", name="state"),
        CheckConstraint("severity IN ('critical', 'normal')", name="severity"),
        CheckConstraint(
            "ai_state IN ('none', 'queued', 'running', 'done', 'held', 'ineligible', 'failed')",
            name="ai_state",
        ),
        Index("ix_incidents_org_created", "org_id", "created_at", "id"),
        Index("ix_incidents_org_group", "org_id", "group_key", "last_alert_at"),
        Index("ix_incidents_org_number", "org_id", "number", unique=True),
        # The AI queue: the oldest queued first; running ones counted against the slots.
        Index(
            "ix_incidents_ai_queue",
            "org_id",
            "ai_queued_at",
            "created_at",
            "id",
            postgresql_where=text("ai_state = 'queued'"),
        ),
        Index("ix_incidents_ai_running", "org_id", postgresql_where=text("ai_state = 'running'")),
    )


class Alert(Base):
    """A fingerprint's notifications within one incident (or suppressed, or orphan resolves)."""

    __tablename__ = "alerts"

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = _org()
    incident_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("incidents.id", ondelete="CASCADE")
    )
    integration_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("integrations.id", ondelete="SET NULL")
    )
    source: Mapped[str] = mapped_column(String(32))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    labels: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    annotations: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    host_hints: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    server_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("servers.id", ondelete="SET NULL")
    )
    source_url: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    raw: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    count: Mapped[int] = mapped_column(Integer, default=1)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    suppressed_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("maintenance_windows.id", ondelete="SET NULL")
    )

    __table_args__ = (
        CheckConstraint("status IN ('firing', 'resolved')", name="status"),
        Index("ix_alerts_org_fingerprint", "org_id", "fingerprint", "last_seen_at"),
        Index("ix_alerts_incident", "incident_id"),
    )


class IncidentEvent(Base):
    """The incident's timeline: every alert, state change, comment, AI step."""

    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    org_id: Mapped[uuid.UUID] = _org()
    incident_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("incidents.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(254))
    detail: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    at: Mapped[datetime] = now_column()

    __table_args__ = (Index("ix_incident_events_incident", "incident_id", "id"),)


class OrgEvent(Base):
    """Things an organisation should know that are not incidents: budget exceeded, storms."""

    __tablename__ = "org_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    org_id: Mapped[uuid.UUID] = _org()
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text)
    server_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("servers.id", ondelete="SET NULL")
    )
    incident_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("incidents.id", ondelete="SET NULL")
    )
    at: Mapped[datetime] = now_column()

    __table_args__ = (Index("ix_org_events_org_at", "org_id", "at"),)


class AlertBudgetCount(Base):
    __tablename__ = "alert_budget_counts"

    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    server_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("servers.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class AlertRate(Base):
    """Alerts per server per minute: the sliding window storms are detected on."""

    __tablename__ = "alert_rates"

    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    server_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("servers.id", ondelete="CASCADE"), primary_key=True
    )
    minute: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class Storm(Base):
    __tablename__ = "storms"

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = _org()
    server_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("servers.id", ondelete="CASCADE")
    )
    incident_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("incidents.id", ondelete="CASCADE")
    )
    alerts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_alert_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_storms_org_server", "org_id", "server_id", "ended_at"),)


class MaintenanceWindow(Base):
    __tablename__ = "maintenance_windows"

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = _org()
    reason: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    scope: Mapped[str] = mapped_column(String(16))
    server_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)), default=list)
    labels: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = now_column()

    __table_args__ = (
        CheckConstraint("scope IN ('all', 'servers', 'labels')", name="scope"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_maintenance_windows_org_end", "org_id", "ends_at"),
    )


class RejectedPayload(Base):
    __tablename__ = "rejected_payloads"

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = _org()
    integration_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("integrations.id", ondelete="SET NULL")
    )
    source: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(255), default="")
    headers: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = now_column()

    __table_args__ = (Index("ix_rejected_payloads_org_at", "org_id", "received_at", "id"),)


class Diagnosis(Base):
    """One diagnosis of an incident: the report, which engine wrote it, when it ran."""

    __tablename__ = "diagnoses"

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = _org()
    incident_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("incidents.id", ondelete="CASCADE")
    )
    engine: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(32))
    report: Mapped[dict[str, Any]] = mapped_column(JSONB)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_diagnoses_incident", "incident_id", "completed_at"),)
