"""Chat conversations: plain-language questions about one server or the fleet, stored in order.

A conversation belongs to an organisation, optionally to one server. Its entries
(``chat_messages``) are numbered (``seq``) so a page reload and a live stream agree on what
was already shown. Running the AI on a question is :mod:`vixpro.ai.chat_run`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.accounts import audit
from vixpro.accounts.errors import Forbidden, InvalidInput, NotFound
from vixpro.accounts.principal import Principal
from vixpro.core.pagination import Cursor
from vixpro.core.roles import Role
from vixpro.db.models import Server
from vixpro.db.models.agent import ChatMessage, Conversation
from vixpro.db.paging import keyset

ROLES = ("user", "assistant", "tool", "approval", "error")
MAX_QUESTION = 4000
NOTIFY_CHANNEL = "vixpro_chat"


def require_asker(principal: Principal) -> None:
    """Members and above may ask (asking runs tools); stakeholders read."""
    if not principal.role.at_least(Role.MEMBER):
        raise Forbidden("stakeholders can read conversations but not ask")


def question(text_: str) -> str:
    cleaned = text_.strip()
    if not cleaned:
        raise InvalidInput("message", "must not be empty")
    if len(cleaned) > MAX_QUESTION:
        raise InvalidInput("message", f"must be at most {MAX_QUESTION} characters")
    return cleaned


async def create(
    session: AsyncSession,
    principal: Principal,
    *,
    server_id: uuid.UUID | None,
    title: str = "",
) -> Conversation:
    require_asker(principal)
    server_name = "the fleet"
    if server_id is not None:
        server = await session.get(Server, server_id)
        if server is None:
            raise NotFound("server")
        server_name = server.name
    conversation = Conversation(
        org_id=principal.org_id,
        server_id=server_id,
        title=(title.strip() or f"About {server_name}")[:200],
        created_by_id=principal.user_id,
        created_by_label=principal.label,
    )
    session.add(conversation)
    await session.flush()
    await audit.record(
        session,
        principal.actor,
        "chat.conversation_created",
        org_id=principal.org_id,
        target_type="conversation",
        target_id=conversation.id,
        details={"server_id": str(server_id) if server_id else None},
    )
    return conversation


async def get(session: AsyncSession, conversation_id: uuid.UUID) -> Conversation:
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("conversation")
    return conversation


async def list_conversations(
    session: AsyncSession,
    *,
    limit: int = 50,
    cursor: Cursor | None = None,
    server_id: uuid.UUID | None = None,
) -> Sequence[Conversation]:
    query = keyset(
        select(Conversation),
        Conversation.updated_at,
        Conversation.id,
        cursor,
        limit,
        newest_first=True,
    )
    if server_id is not None:
        query = query.where(Conversation.server_id == server_id)
    return (await session.scalars(query)).all()


async def messages(
    session: AsyncSession, conversation_id: uuid.UUID, *, after: int = 0, limit: int = 500
) -> Sequence[ChatMessage]:
    return (
        await session.scalars(
            select(ChatMessage)
            .where(ChatMessage.conversation_id == conversation_id, ChatMessage.seq > after)
            .order_by(ChatMessage.seq)
            .limit(limit)
        )
    ).all()


async def add(
    session: AsyncSession,
    org_id: uuid.UUID,
    conversation_id: uuid.UUID,
    role: str,
    content: str,
    data: dict[str, Any] | None = None,
) -> ChatMessage:
    """Append an entry (numbered after the last one) and wake the conversation's streams."""
    if role not in ROLES:
        raise ValueError(f"unknown chat role {role!r}")
    # The conversation row is the lock that numbers its entries one after another.
    touched = await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(updated_at=func.now())
        .returning(Conversation.id)
    )
    if touched.first() is None:
        raise NotFound("conversation")
    last = await session.scalar(
        select(func.coalesce(func.max(ChatMessage.seq), 0)).where(
            ChatMessage.conversation_id == conversation_id
        )
    )
    message = ChatMessage(
        org_id=org_id,
        conversation_id=conversation_id,
        seq=int(last or 0) + 1,
        role=role,
        content=content,
        data=data or {},
    )
    session.add(message)
    await session.flush()
    await publish(session, conversation_id, {"type": "message", "seq": message.seq})
    return message


async def publish(session: AsyncSession, conversation_id: uuid.UUID, event: dict[str, Any]) -> None:
    """Send ``event`` to the conversation's live streams in every replica (on commit)."""
    payload = json.dumps({"conversation": str(conversation_id), **event})
    await session.execute(
        text("SELECT pg_notify(:channel, :payload)"),
        {"channel": NOTIFY_CHANNEL, "payload": payload[:7900]},
    )


def message_view(message: ChatMessage) -> dict[str, Any]:
    return {
        "id": str(message.id),
        "seq": message.seq,
        "role": message.role,
        "content": message.content,
        "data": {k: v for k, v in message.data.items() if k != "history"},
        "created_at": message.created_at.isoformat() if message.created_at else None,
    }
