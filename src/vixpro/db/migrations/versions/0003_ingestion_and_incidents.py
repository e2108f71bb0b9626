"""ingestion and incidents

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from vixpro.db.rls import tenant_policy

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


TENANT_TABLES = (
    "incident_settings",
    "integrations",
    "maintenance_windows",
    "alert_budget_counts",
    "alert_rates",
    "incidents",
    "rejected_payloads",
    "alerts",
    "incident_events",
    "org_events",
    "storms",
)


def upgrade() -> None:
    op.create_table(
        "incident_settings",
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("group_window_s", sa.Integer(), nullable=False),
        sa.Column("auto_resolve", sa.Boolean(), nullable=False),
        sa.Column("alert_budget", sa.Integer(), nullable=True),
        sa.Column("storm_threshold", sa.Integer(), nullable=False),
        sa.Column("storm_window_s", sa.Integer(), nullable=False),
        sa.Column("storm_quiet_s", sa.Integer(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_incident_settings_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_incident_settings")),
    )
    op.create_table(
        "integrations",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("token_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("signing_secret_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("options", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("alerts_received", sa.BigInteger(), nullable=False),
        sa.Column("last_alert_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_integrations_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrations")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_integrations_token_digest")),
    )
    op.create_index("ix_integrations_org", "integrations", ["org_id", "created_at"], unique=False)
    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("server_ids", postgresql.ARRAY(sa.UUID()), nullable=False),
        sa.Column("labels", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "scope IN ('all', 'servers', 'labels')", name=op.f("ck_maintenance_windows_scope")
        ),
        sa.CheckConstraint(
            "ends_at > starts_at", name=op.f("ck_maintenance_windows_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_maintenance_windows_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_windows")),
    )
    op.create_index(
        "ix_maintenance_windows_org_end", "maintenance_windows", ["org_id", "ends_at"], unique=False
    )
    op.create_table(
        "alert_budget_counts",
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("server_id", sa.UUID(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_alert_budget_counts_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["servers.id"],
            name=op.f("fk_alert_budget_counts_server_id_servers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", "server_id", "day", name=op.f("pk_alert_budget_counts")),
    )
    op.create_table(
        "alert_rates",
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("server_id", sa.UUID(), nullable=False),
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_alert_rates_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["servers.id"],
            name=op.f("fk_alert_rates_server_id_servers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", "server_id", "minute", name=op.f("pk_alert_rates")),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("group_key", sa.String(length=80), nullable=False),
        sa.Column("server_id", sa.UUID(), nullable=True),
        sa.Column("assignee_id", sa.UUID(), nullable=True),
        sa.Column("manual_mode", sa.Boolean(), nullable=False),
        sa.Column("manual_reason", sa.Text(), nullable=True),
        sa.Column("storm", sa.Boolean(), nullable=False),
        sa.Column("ai_state", sa.String(length=16), nullable=False),
        sa.Column("alert_count", sa.Integer(), nullable=False),
        sa.Column("open_alerts", sa.Integer(), nullable=False),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.Column("first_alert_received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_alert_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=254), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=254), nullable=True),
        sa.Column("ai_queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("diagnosis_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_tool_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("diagnosis_completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "ai_state IN ('none', 'queued', 'running', 'done', 'held', 'ineligible', 'failed')",
            name=op.f("ck_incidents_ai_state"),
        ),
        sa.CheckConstraint(
            "severity IN ('critical', 'normal')", name=op.f("ck_incidents_severity")
        ),
        sa.CheckConstraint(
            "state IN ('open', 'acknowledged', 'resolved')", name=op.f("ck_incidents_state")
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["users.id"],
            name=op.f("fk_incidents_assignee_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_incidents_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["servers.id"],
            name=op.f("fk_incidents_server_id_servers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_index(
        "ix_incidents_org_created", "incidents", ["org_id", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_incidents_org_group",
        "incidents",
        ["org_id", "group_key", "last_alert_at"],
        unique=False,
    )
    op.create_index("ix_incidents_org_number", "incidents", ["org_id", "number"], unique=True)
    op.create_table(
        "rejected_payloads",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("integration_id", sa.UUID(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_rejected_payloads_integration_id_integrations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_rejected_payloads_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rejected_payloads")),
    )
    op.create_index(
        "ix_rejected_payloads_org_at",
        "rejected_payloads",
        ["org_id", "received_at", "id"],
        unique=False,
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("incident_id", sa.UUID(), nullable=True),
        sa.Column("integration_id", sa.UUID(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("labels", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("annotations", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("host_hints", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("server_id", sa.UUID(), nullable=True),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("raw", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("suppressed_by", sa.UUID(), nullable=True),
        sa.CheckConstraint("status IN ('firing', 'resolved')", name=op.f("ck_alerts_status")),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_alerts_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_alerts_integration_id_integrations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_alerts_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["servers.id"],
            name=op.f("fk_alerts_server_id_servers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["suppressed_by"],
            ["maintenance_windows.id"],
            name=op.f("fk_alerts_suppressed_by_maintenance_windows"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index("ix_alerts_incident", "alerts", ["incident_id"], unique=False)
    op.create_index(
        "ix_alerts_org_fingerprint",
        "alerts",
        ["org_id", "fingerprint", "last_seen_at"],
        unique=False,
    )
    op.create_index("ix_alerts_org_seen", "alerts", ["org_id", "last_seen_at"], unique=False)
    op.create_table(
        "incident_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("incident_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_events_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_incident_events_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_events")),
    )
    op.create_index(
        "ix_incident_events_incident", "incident_events", ["incident_id", "id"], unique=False
    )
    op.create_table(
        "org_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("server_id", sa.UUID(), nullable=True),
        sa.Column("incident_id", sa.UUID(), nullable=True),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_org_events_incident_id_incidents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_org_events_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["servers.id"],
            name=op.f("fk_org_events_server_id_servers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_events")),
    )
    op.create_index("ix_org_events_org_at", "org_events", ["org_id", "at"], unique=False)
    op.create_table(
        "storms",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("server_id", sa.UUID(), nullable=False),
        sa.Column("incident_id", sa.UUID(), nullable=False),
        sa.Column("alerts", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_alert_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_storms_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_storms_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["servers.id"],
            name=op.f("fk_storms_server_id_servers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_storms")),
    )
    op.create_index(
        "ix_storms_org_server", "storms", ["org_id", "server_id", "ended_at"], unique=False
    )
    op.create_index(
        "ix_incidents_ai_queue",
        "incidents",
        ["org_id", "ai_queued_at", "created_at", "id"],
        postgresql_where=sa.text("ai_state = 'queued'"),
    )
    op.create_index(
        "ix_incidents_ai_running",
        "incidents",
        ["org_id"],
        postgresql_where=sa.text("ai_state = 'running'"),
    )
    for table in TENANT_TABLES:
        op.execute(tenant_policy(table))
    # Host-agent events (offline, tampered, manifest refused) become incidents: 0 not yet
    # raised, 1 raised as a firing alert, 2 its resolution raised too.
    op.add_column(
        "server_events",
        sa.Column("alert_stage", sa.SmallInteger(), server_default="0", nullable=False),
    )
    op.create_index(
        "ix_server_events_alert_stage",
        "server_events",
        ["alert_stage"],
        postgresql_where=sa.text("alert_stage < 2"),
    )


def downgrade() -> None:
    op.drop_index("ix_incidents_ai_running", table_name="incidents")
    op.drop_index("ix_incidents_ai_queue", table_name="incidents")
    op.drop_index("ix_server_events_alert_stage", table_name="server_events")
    op.drop_column("server_events", "alert_stage")
    op.drop_index("ix_storms_org_server", table_name="storms")
    op.drop_table("storms")
    op.drop_index("ix_org_events_org_at", table_name="org_events")
    op.drop_table("org_events")
    op.drop_index("ix_incident_events_incident", table_name="incident_events")
    op.drop_table("incident_events")
    op.drop_index("ix_alerts_org_seen", table_name="alerts")
    op.drop_index("ix_alerts_org_fingerprint", table_name="alerts")
    op.drop_index("ix_alerts_incident", table_name="alerts")
    op.drop_table("alerts")
    op.drop_index("ix_rejected_payloads_org_at", table_name="rejected_payloads")
    op.drop_table("rejected_payloads")
    op.drop_index("ix_incidents_org_number", table_name="incidents")
    op.drop_index("ix_incidents_org_group", table_name="incidents")
    op.drop_index("ix_incidents_org_created", table_name="incidents")
    op.drop_table("incidents")
    op.drop_table("alert_rates")
    op.drop_table("alert_budget_counts")
    op.drop_index("ix_maintenance_windows_org_end", table_name="maintenance_windows")
    op.drop_table("maintenance_windows")
    op.drop_index("ix_integrations_org", table_name="integrations")
    op.drop_table("integrations")
    op.drop_table("incident_settings")
