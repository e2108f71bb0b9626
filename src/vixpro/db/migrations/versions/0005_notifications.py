"""notifications: the outbox, channels, deliveries and their attempts, the bell, the email outbox

The outbox is filled inside the transaction of the change it reports: by ``notify.outbox.emit``
and, for the ingest hot path and the tool runner (which write in single bulk statements), by
statement-level triggers with transition tables on ``incident_events``, ``org_events`` and
``approvals``. A trigger costs those paths no round trip and loses nothing.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from vixpro.db.rls import tenant_policy

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _org_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["org_id"],
        ["organisations.id"],
        name=op.f(f"fk_{table}_org_id_organisations"),
        ondelete="CASCADE",
    )


def _now(name: str = "created_at") -> sa.Column[Any]:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


# Incident timeline kinds that are worth telling someone about, and what they become. An incident
# raised by the platform itself (source 'vixpro') about a host agent opens as its own kind.
_INCIDENT_EVENTS_TRIGGER = """
CREATE FUNCTION notify_incident_events() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO notification_outbox (org_id, kind, subject_id, title, body, link, data)
    SELECT n.org_id, k.kind, i.id,
           left(format('#%s %s: %s', i.number, k.verb, i.title), 255),
           left(n.detail, 4000),
           '/incidents/' || i.id,
           jsonb_build_object(
               'incident_id', i.id, 'incident_number', i.number, 'incident_title', i.title,
               'severity', i.severity, 'source', i.source, 'event', n.kind,
               'event_id', n.id, 'actor', n.actor)
    FROM new_rows n
    JOIN incidents i ON i.id = n.incident_id
    CROSS JOIN LATERAL (
        SELECT CASE
            WHEN n.kind IN ('opened', 'reopened') AND i.source = 'vixpro'
                 AND i.title LIKE 'Host agent offline%' THEN 'hostagent.offline'
            WHEN n.kind IN ('opened', 'reopened') AND i.source = 'vixpro'
                 AND i.title LIKE 'Host agent config tampered%' THEN 'hostagent.tampered'
            WHEN n.kind IN ('opened', 'reopened') THEN 'incident.opened'
            WHEN n.kind = 'acknowledged' THEN 'incident.acknowledged'
            WHEN n.kind = 'resolved' THEN 'incident.resolved'
            WHEN n.kind = 'diagnosis' THEN 'diagnosis.ready'
            WHEN n.kind = 'escalated' THEN 'diagnosis.escalated'
        END AS kind,
        CASE n.kind WHEN 'diagnosis' THEN 'diagnosed' ELSE n.kind END AS verb
    ) k
    WHERE k.kind IS NOT NULL;
    RETURN NULL;
END $$;
CREATE TRIGGER notify_incident_events AFTER INSERT ON incident_events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION notify_incident_events();
"""

_ORG_EVENTS_TRIGGER = """
CREATE FUNCTION notify_org_events() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO notification_outbox (org_id, kind, subject_id, title, body, link, data)
    SELECT n.org_id,
           CASE n.kind WHEN 'storm' THEN 'storm' ELSE 'budget.exceeded' END,
           n.incident_id,
           CASE n.kind WHEN 'storm' THEN 'Alert storm' ELSE 'Alert budget exceeded' END,
           left(n.detail, 4000),
           CASE WHEN n.incident_id IS NULL THEN '/incidents' ELSE '/incidents/' || n.incident_id END,
           jsonb_build_object('severity', n.severity, 'server_id', n.server_id)
    FROM new_rows n
    WHERE n.kind IN ('storm', 'budget_exceeded');
    RETURN NULL;
END $$;
CREATE TRIGGER notify_org_events AFTER INSERT ON org_events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION notify_org_events();
"""

_APPROVALS_TRIGGER = """
CREATE FUNCTION notify_approvals() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO notification_outbox (org_id, kind, subject_id, title, body, link, data)
    SELECT a.org_id, 'approval.requested', a.id,
           left(format('Approval requested: %s on %s', e.tool, coalesce(s.name, 'a server')), 255),
           left(format('%s asked to run %s; it waits for an owner or admin until %s.',
                       e.requested_by_label, e.tool,
                       to_char(a.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"')), 4000),
           '/approvals',
           jsonb_build_object('approval_id', a.id, 'execution_id', e.id, 'tool', e.tool,
                              'server_id', e.server_id, 'incident_id', e.incident_id)
    FROM new_rows a
    JOIN tool_executions e ON e.id = a.execution_id
    LEFT JOIN servers s ON s.id = e.server_id
    WHERE a.state = 'pending';
    RETURN NULL;
END $$;
CREATE TRIGGER notify_approvals AFTER INSERT ON approvals
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION notify_approvals();
"""


def upgrade() -> None:
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("subject_id", sa.UUID(), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), server_default="", nullable=False),
        sa.Column("link", sa.String(length=512), server_default="", nullable=False),
        sa.Column(
            "data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        _now(),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        _org_fk("notification_outbox"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_outbox")),
    )
    op.create_index(
        "ix_notification_outbox_pending",
        "notification_outbox",
        ["id"],
        postgresql_where=sa.text("dispatched_at IS NULL"),
    )
    op.execute(tenant_policy("notification_outbox"))

    op.create_table(
        "notification_channels",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column(
            "config",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("secret_hint", sa.String(length=8), server_default="", nullable=False),
        sa.Column("events", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("critical_only", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("status", sa.String(length=16), server_default="ok", nullable=False),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        _now(),
        sa.CheckConstraint(
            "status IN ('ok', 'failing')", name=op.f("ck_notification_channels_status")
        ),
        _org_fk("notification_channels"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_channels")),
    )
    op.create_index(
        "ix_notification_channels_org", "notification_channels", ["org_id", "created_at"]
    )
    op.execute(tenant_policy("notification_channels"))

    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("outbox_id", sa.BigInteger(), nullable=True),
        sa.Column("channel_id", sa.UUID(), nullable=True),
        sa.Column("channel_kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=254), server_default="", nullable=False),
        sa.Column("event_kind", sa.String(length=48), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        _now(),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'sent', 'retrying', 'failed')",
            name=op.f("ck_notification_deliveries_state"),
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["notification_channels.id"],
            name=op.f("fk_notification_deliveries_channel_id_notification_channels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["notification_outbox.id"],
            name=op.f("fk_notification_deliveries_outbox_id_notification_outbox"),
            ondelete="SET NULL",
        ),
        _org_fk("notification_deliveries"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_deliveries")),
    )
    op.create_index(
        "ix_notification_deliveries_org", "notification_deliveries", ["org_id", "created_at", "id"]
    )
    op.create_index(
        "ix_notification_deliveries_channel",
        "notification_deliveries",
        ["channel_id", "created_at"],
    )
    op.execute(tenant_policy("notification_deliveries"))

    op.create_table(
        "notification_attempts",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("delivery_id", sa.UUID(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("permanent", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("response", sa.Text(), server_default="", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        _now("at"),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["notification_deliveries.id"],
            name=op.f("fk_notification_attempts_delivery_id_notification_deliveries"),
            ondelete="CASCADE",
        ),
        _org_fk("notification_attempts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_attempts")),
    )
    op.create_index(
        "ix_notification_attempts_delivery", "notification_attempts", ["delivery_id", "id"]
    )
    op.execute(tenant_policy("notification_attempts"))

    op.create_table(
        "bell_notifications",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("outbox_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), server_default="", nullable=False),
        sa.Column("link", sa.String(length=512), server_default="", nullable=False),
        _now(),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_bell_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        _org_fk("bell_notifications"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bell_notifications")),
    )
    op.create_index("ix_bell_notifications_user", "bell_notifications", ["user_id", "id"])
    op.create_index(
        "ix_bell_notifications_unread",
        "bell_notifications",
        ["user_id"],
        postgresql_where=sa.text("read_at IS NULL"),
    )
    op.execute(tenant_policy("bell_notifications"))

    op.create_table(
        "email_outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("delivery_id", sa.UUID(), nullable=True),
        sa.Column("to_addr", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=False),
        _now(),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["notification_deliveries.id"],
            name=op.f("fk_email_outbox_delivery_id_notification_deliveries"),
            ondelete="SET NULL",
        ),
        _org_fk("email_outbox"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_outbox")),
    )
    op.create_index("ix_email_outbox_created", "email_outbox", ["created_at", "id"])
    op.execute(tenant_policy("email_outbox"))

    op.execute(_INCIDENT_EVENTS_TRIGGER)
    op.execute(_ORG_EVENTS_TRIGGER)
    op.execute(_APPROVALS_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS notify_approvals ON approvals")
    op.execute("DROP TRIGGER IF EXISTS notify_org_events ON org_events")
    op.execute("DROP TRIGGER IF EXISTS notify_incident_events ON incident_events")
    op.execute("DROP FUNCTION IF EXISTS notify_approvals()")
    op.execute("DROP FUNCTION IF EXISTS notify_org_events()")
    op.execute("DROP FUNCTION IF EXISTS notify_incident_events()")
    op.drop_table("email_outbox")
    op.drop_table("bell_notifications")
    op.drop_table("notification_attempts")
    op.drop_table("notification_deliveries")
    op.drop_table("notification_channels")
    op.drop_table("notification_outbox")
