"""ai providers: keys (sealed), area chains, usage, model prices

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

from vixpro.db.rls import tenant_policy

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Estimates in US dollars per million tokens (input, output), taken from the vendors' public price
# lists (as collected by the genai-prices project); staff can edit them in the console. A model
# is priced by its exact name or the longest name here that is a prefix of it. Self-hosted
# endpoints are not priced.
SEED_PRICES: list[tuple[str, str, str, str]] = [
    ("anthropic", "claude-opus-5-5", "4", "20"),
    ("anthropic", "claude-opus-5", "5", "25"),
    ("anthropic", "claude-opus-4-5", "5", "25"),
    ("anthropic", "claude-opus-4-6", "5", "25"),
    ("anthropic", "claude-opus-4-7", "5", "25"),
    ("anthropic", "claude-opus-4-8", "5", "25"),
    ("anthropic", "claude-opus-4", "15", "75"),
    ("anthropic", "claude-sonnet-5", "2", "10"),
    ("anthropic", "claude-sonnet-4", "3", "15"),
    ("anthropic", "claude-haiku-5-5", "0.1", "0.5"),
    ("anthropic", "claude-haiku-4-5", "1", "5"),
    ("anthropic", "claude-fable-5", "10", "50"),
    ("anthropic", "claude-fable-5-2", "8", "40"),
    ("anthropic", "claude-mythos-5", "8", "40"),
    ("openai", "gpt-6-sol", "2", "10"),
    ("openai", "gpt-6-luna", "0.1", "0.5"),
    ("openai", "gpt-6.1-sol", "2", "10"),
    ("openai", "gpt-6.1-terra", "1", "5"),
    ("openai", "gpt-5.5", "5", "30"),
    ("openai", "gpt-5.4", "2.5", "15"),
    ("openai", "gpt-5.4-mini", "0.75", "4.5"),
    ("openai", "gpt-5.4-nano", "0.2", "1.25"),
    ("openai", "gpt-5", "1.25", "10"),
    ("openai", "gpt-5-mini", "0.25", "2"),
    ("openai", "gpt-5-nano", "0.05", "0.4"),
    ("openai", "gpt-4.1", "2", "8"),
    ("openai", "gpt-4.1-mini", "0.4", "1.6"),
    ("openai", "gpt-4.1-nano", "0.1", "0.4"),
    ("openai", "gpt-4o", "2.5", "10"),
    ("openai", "gpt-4o-mini", "0.15", "0.6"),
    ("openai", "o3", "2", "8"),
    ("openai", "o4-mini", "1.1", "4.4"),
    ("google", "gemini-3.8-flash", "1.5", "7.5"),
    ("google", "gemini-3.5-flash", "1.5", "9"),
    ("google", "gemini-3.5-flash-lite", "0.3", "2.5"),
    ("google", "gemini-3.1-pro", "2", "12"),
    ("google", "gemini-3-pro", "2", "12"),
    ("google", "gemini-2.5-pro", "1.25", "10"),
    ("google", "gemini-2.5-flash", "0.3", "2.5"),
    ("google", "gemini-2.5-flash-lite", "0.1", "0.4"),
    ("google", "gemini-2.0-flash", "0.1", "0.4"),
    ("xai", "grok-4.7", "2", "6"),
    ("xai", "grok-4.5", "2", "6"),
    ("xai", "grok-4.3", "1.25", "2.5"),
    ("xai", "grok-4-1-fast", "0.2", "0.5"),
    ("xai", "grok-4-fast", "0.2", "0.5"),
    ("xai", "grok-4", "3", "15"),
    ("xai", "grok-3", "3", "15"),
    ("xai", "grok-3-mini", "0.3", "0.5"),
    ("xai", "grok-code-fast-1", "0.2", "1.5"),
]


def _org(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["org_id"],
        ["organisations.id"],
        name=f"fk_{table}_org_id_organisations",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    now = sa.text("now()")
    op.create_table(
        "ai_provider_keys",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("base_url", sa.Text(), nullable=True),
        sa.Column("key_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("key_last4", sa.String(length=4), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        _org("ai_provider_keys"),
        sa.PrimaryKeyConstraint("id", name="pk_ai_provider_keys"),
    )
    op.create_index("ix_ai_provider_keys_org", "ai_provider_keys", ["org_id", "created_at"])
    op.execute(tenant_policy("ai_provider_keys"))

    op.create_table(
        "ai_area_chain",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("area", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.UUID(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        _org("ai_area_chain"),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["ai_provider_keys.id"],
            name="fk_ai_area_chain_key_id_ai_provider_keys",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ai_area_chain"),
    )
    op.create_index(
        "ix_ai_area_chain_area", "ai_area_chain", ["org_id", "area", "position"], unique=True
    )
    op.execute(tenant_policy("ai_area_chain"))

    op.create_table(
        "ai_usage",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.Column("area", sa.String(length=32), nullable=False),
        sa.Column("provider_kind", sa.String(length=32), nullable=False),
        sa.Column("provider_label", sa.String(length=120), nullable=False),
        sa.Column("key_id", sa.UUID(), nullable=True),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("tokens_in", sa.BigInteger(), nullable=False),
        sa.Column("tokens_out", sa.BigInteger(), nullable=False),
        sa.Column("cost", sa.Numeric(14, 6), nullable=True),
        sa.Column("incident_id", sa.UUID(), nullable=True),
        sa.Column("conversation_id", sa.UUID(), nullable=True),
        _org("ai_usage"),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["ai_provider_keys.id"],
            name="fk_ai_usage_key_id_ai_provider_keys",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name="fk_ai_usage_incident_id_incidents",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ai_usage"),
    )
    op.create_index("ix_ai_usage_org_at", "ai_usage", ["org_id", "at"])
    op.execute(tenant_policy("ai_usage"))

    prices = op.create_table(
        "model_prices",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("input_per_mtok", sa.Numeric(12, 4), nullable=False),
        sa.Column("output_per_mtok", sa.Numeric(12, 4), nullable=False),
        sa.Column("updated_by", sa.String(length=254), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_model_prices"),
    )
    op.create_index("ix_model_prices_kind_model", "model_prices", ["kind", "model"], unique=True)
    op.bulk_insert(
        prices,
        [
            {
                "id": uuid.uuid4(),
                "kind": kind,
                "model": model,
                "input_per_mtok": Decimal(price_in),
                "output_per_mtok": Decimal(price_out),
                "updated_by": "seed (estimate; staff can edit)",
            }
            for kind, model, price_in, price_out in SEED_PRICES
        ],
    )


def downgrade() -> None:
    op.drop_table("model_prices")
    op.drop_table("ai_usage")
    op.drop_table("ai_area_chain")
    op.drop_table("ai_provider_keys")
