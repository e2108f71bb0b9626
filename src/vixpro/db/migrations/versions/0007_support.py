"""support: action-item history and tool holds, support tickets, maintenance announcements

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from vixpro.db.rls import tenant_policy

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _org_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["org_id"],
        ["organisations.id"],
        name=op.f(f"fk_{table}_org_id_organisations"),
        ondelete="CASCADE",
    )


def _now(name: str) -> sa.Column[object]:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "action_item_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("action_item_id", sa.UUID(), nullable=False),
        sa.Column("from_status", sa.String(length=24), nullable=True),
        sa.Column("to_status", sa.String(length=24), nullable=False),
        sa.Column("mover", sa.String(length=8), nullable=False),
        sa.Column("actor_label", sa.String(length=254), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        _now("at"),
        sa.CheckConstraint("mover IN ('staff', 'org', 'system')", name=op.f("ck_aie_mover")),
        _org_fk("action_item_events"),
        sa.ForeignKeyConstraint(
            ["action_item_id"],
            ["action_items.id"],
            name=op.f("fk_action_item_events_action_item_id_action_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_item_events")),
    )
    op.create_index("ix_action_item_events_item", "action_item_events", ["action_item_id", "at"])
    op.execute(tenant_policy("action_item_events"))

    op.create_table(
        "action_item_tool_holds",
        sa.Column("action_item_id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("tool", sa.String(length=64), nullable=False),
        sa.Column("was_enabled", sa.Boolean(), nullable=False),
        sa.Column("was_approval_required", sa.Boolean(), nullable=False),
        _now("held_at"),
        _org_fk("action_item_tool_holds"),
        sa.ForeignKeyConstraint(
            ["action_item_id"],
            ["action_items.id"],
            name=op.f("fk_action_item_tool_holds_action_item_id_action_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("action_item_id", name=op.f("pk_action_item_tool_holds")),
    )
    op.execute(tenant_policy("action_item_tool_holds"))

    op.create_table(
        "tickets",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=12), server_default="open", nullable=False),
        sa.Column("priority_support", sa.Boolean(), nullable=False),
        sa.Column("opened_by_user_id", sa.UUID(), nullable=True),
        sa.Column("opened_by_label", sa.String(length=254), nullable=False),
        _now("opened_at"),
        sa.Column("first_staff_reply_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_staff_reply_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_org_reply_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mitigated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "breaches",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        _now("updated_at"),
        sa.CheckConstraint("severity IN ('critical', 'normal')", name=op.f("ck_tickets_severity")),
        sa.CheckConstraint(
            "status IN ('open', 'mitigated', 'resolved')", name=op.f("ck_tickets_status")
        ),
        _org_fk("tickets"),
        sa.ForeignKeyConstraint(
            ["opened_by_user_id"],
            ["users.id"],
            name=op.f("fk_tickets_opened_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
    )
    op.create_index("ix_tickets_org_opened", "tickets", ["org_id", "opened_at", "id"])
    op.create_index(
        "ix_tickets_unresolved", "tickets", ["opened_at"], postgresql_where="status <> 'resolved'"
    )
    op.execute(tenant_policy("tickets"))

    op.create_table(
        "ticket_messages",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("author_user_id", sa.UUID(), nullable=True),
        sa.Column("author_label", sa.String(length=254), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        _now("created_at"),
        sa.CheckConstraint("side IN ('org', 'staff')", name=op.f("ck_ticket_messages_side")),
        _org_fk("ticket_messages"),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_messages_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_messages")),
    )
    op.create_index("ix_ticket_messages_ticket", "ticket_messages", ["ticket_id", "created_at"])
    op.execute(tenant_policy("ticket_messages"))

    op.create_table(
        "ticket_attachments",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("message_id", sa.UUID(), nullable=False),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        _now("created_at"),
        _org_fk("ticket_attachments"),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_attachments_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["ticket_messages.id"],
            name=op.f("fk_ticket_attachments_message_id_ticket_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_attachments")),
    )
    op.create_index("ix_ticket_attachments_message", "ticket_attachments", ["message_id"])
    op.execute(tenant_policy("ticket_attachments"))

    # Platform-wide: no org_id, so no tenant policy; every organisation reads the same rows.
    op.create_table(
        "announcements",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), server_default="", nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("emergency", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        _now("created_at"),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_announcements_order")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcements")),
    )
    op.create_index("ix_announcements_ends", "announcements", ["ends_at"])


def downgrade() -> None:
    op.drop_table("announcements")
    op.drop_table("ticket_attachments")
    op.drop_table("ticket_messages")
    op.drop_table("tickets")
    op.drop_table("action_item_tool_holds")
    op.drop_table("action_item_events")
