"""The AI agent's own tables: organisation AI settings and chat conversations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from vixpro.db.models.base import Base, now_column, uuid_pk


def _org() -> Mapped[uuid.UUID]:
    return mapped_column(
        UUID(as_uuid=True), ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False
    )


class AiSettings(Base):
    """One row per organisation; absent means the defaults."""

    __tablename__ = "ai_settings"

    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    auto_remediation: Mapped[bool] = mapped_column(Boolean, default=False)
    confidence_threshold: Mapped[float] = mapped_column(Float, default=0.6)
    tool_call_budget: Mapped[int] = mapped_column(Integer, default=25)
    updated_by: Mapped[str] = mapped_column(String(254), default="")
    updated_at: Mapped[datetime] = now_column()


class Conversation(Base):
    """A chat about one server (``server_id``) or the whole fleet (None)."""

    __tablename__ = "chat_conversations"

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = _org()
    server_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("servers.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_by_label: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = now_column()

    __table_args__ = (Index("ix_chat_conversations_org_updated", "org_id", "updated_at", "id"),)


class ChatMessage(Base):
    """One entry of a conversation, in order (``seq``).

    ``role``: ``user``, ``assistant``, ``tool`` (a tool call and its result), ``approval`` (an
    approval request) or ``error``. ``data`` holds the details (execution and approval ids;
    for an assistant answer, the run's messages so the next question continues it).
    """

    __tablename__ = "chat_messages"

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = _org()
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("chat_conversations.id", ondelete="CASCADE")
    )
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = now_column()

    __table_args__ = (Index("ix_chat_messages_conversation", "conversation_id", "seq"),)
