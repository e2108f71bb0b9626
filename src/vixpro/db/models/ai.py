"""AI providers: an organisation's keys (sealed), each area's provider chain, usage, and prices."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from vixpro.db.models.base import Base, now_column, uuid_pk


def _org() -> Mapped[uuid.UUID]:
    return mapped_column(
        UUID(as_uuid=True), ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False
    )


class AIProviderKey(Base):
    """One provider account: which API, where, and its key sealed under the master key."""

    __tablename__ = "ai_provider_keys"

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = _org()
    kind: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(120))
    base_url: Mapped[str | None] = mapped_column(Text)
    # NULL only for an OpenAI-compatible endpoint that takes no key (a local Ollama).
    key_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_last4: Mapped[str] = mapped_column(String(4), default="")
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = now_column()

    __table_args__ = (Index("ix_ai_provider_keys_org", "org_id", "created_at"),)


class AIAreaChainEntry(Base):
    """One step of an area's chain: the key to use and the model, in order of ``position``."""

    __tablename__ = "ai_area_chain"

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = _org()
    area: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer)
    key_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("ai_provider_keys.id", ondelete="CASCADE")
    )
    model: Mapped[str] = mapped_column(String(200))

    __table_args__ = (Index("ix_ai_area_chain_area", "org_id", "area", "position", unique=True),)


class AIUsage(Base):
    """One AI run's tokens and estimated cost (NULL when no price is known for the model)."""

    __tablename__ = "ai_usage"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    org_id: Mapped[uuid.UUID] = _org()
    at: Mapped[datetime] = now_column()
    area: Mapped[str] = mapped_column(String(32))
    provider_kind: Mapped[str] = mapped_column(String(32))
    provider_label: Mapped[str] = mapped_column(String(120), default="")
    key_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("ai_provider_keys.id", ondelete="SET NULL")
    )
    model: Mapped[str] = mapped_column(String(200))
    tokens_in: Mapped[int] = mapped_column(BigInteger)
    tokens_out: Mapped[int] = mapped_column(BigInteger)
    cost: Mapped[Decimal | None] = mapped_column(Numeric(14, 6))
    incident_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("incidents.id", ondelete="SET NULL")
    )
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))

    __table_args__ = (Index("ix_ai_usage_org_at", "org_id", "at"),)


class ModelPrice(Base):
    """Platform-wide estimated prices in US dollars per million tokens; staff edit them.

    A model is priced by the row with its exact name, else the longest ``model`` that is a
    prefix of it (``gpt-4.1`` prices ``gpt-4.1-2025-04-14``).
    """

    __tablename__ = "model_prices"

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(200))
    input_per_mtok: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    output_per_mtok: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    updated_by: Mapped[str] = mapped_column(String(254), default="seed")
    updated_at: Mapped[datetime] = now_column()

    __table_args__ = (Index("ix_model_prices_kind_model", "kind", "model", unique=True),)
