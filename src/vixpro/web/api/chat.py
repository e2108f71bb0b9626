"""Chat: conversations about a server, questions, and the live stream of each answer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from vixpro.ai import chat
from vixpro.db.models.agent import ChatMessage, Conversation
from vixpro.web.api.pagination import Page, PageDep
from vixpro.web.api.schemas import Strict
from vixpro.web.deps import PrincipalDep, StateDep

router = APIRouter(tags=["chat"])

KEEPALIVE_S = 15.0


class ConversationOut(BaseModel):
    id: UUID
    server_id: UUID | None
    title: str
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, c: Conversation) -> ConversationOut:
        return cls(
            id=c.id,
            server_id=c.server_id,
            title=c.title,
            created_by=c.created_by_label,
            created_at=c.created_at,
            updated_at=c.updated_at,
        )


class MessageOut(BaseModel):
    id: UUID
    seq: int
    role: str = Field(description="user, assistant, tool, approval or error")
    content: str
    data: dict[str, Any] = Field(description="tool, params, execution_id, approval_id, ...")
    created_at: datetime

    @classmethod
    def of(cls, m: ChatMessage) -> MessageOut:
        view = chat.message_view(m)
        return cls(
            id=m.id,
            seq=m.seq,
            role=m.role,
            content=m.content,
            data=view["data"],
            created_at=m.created_at,
        )


class ConversationDetail(BaseModel):
    conversation: ConversationOut
    messages: list[MessageOut]


class ConversationIn(Strict):
    server_id: UUID | None = Field(default=None, description="the server the chat is about")
    title: str = Field(default="", max_length=200)


class QuestionIn(Strict):
    message: str = Field(min_length=1, max_length=chat.MAX_QUESTION)


@router.post(
    "/chat/conversations",
    response_model=ConversationOut,
    status_code=status.HTTP_201_CREATED,
    summary="Start a conversation about a server",
)
async def create_conversation(
    body: ConversationIn, principal: PrincipalDep, state: StateDep
) -> ConversationOut:
    async with state.db.tenant_session(principal.org_id) as session:
        row = await chat.create(session, principal, server_id=body.server_id, title=body.title)
        return ConversationOut.of(row)


@router.get(
    "/chat/conversations",
    response_model=Page[ConversationOut],
    summary="Conversations, newest first",
)
async def list_conversations(
    principal: PrincipalDep,
    state: StateDep,
    page: PageDep,
    server_id: UUID | None = None,
) -> Page[ConversationOut]:
    async with state.db.tenant_session(principal.org_id) as session:
        rows = list(
            await chat.list_conversations(
                session, limit=page.limit, cursor=page.cursor, server_id=server_id
            )
        )
    return Page(
        items=[ConversationOut.of(c) for c in rows],
        next_cursor=page.next([(c.updated_at, c.id) for c in rows]),
    )


@router.get(
    "/chat/conversations/{conversation_id}",
    response_model=ConversationDetail,
    summary="A conversation and its entries",
)
async def get_conversation(
    conversation_id: UUID, principal: PrincipalDep, state: StateDep
) -> ConversationDetail:
    async with state.db.tenant_session(principal.org_id) as session:
        row = await chat.get(session, conversation_id)
        entries = await chat.messages(session, conversation_id)
        return ConversationDetail(
            conversation=ConversationOut.of(row), messages=[MessageOut.of(m) for m in entries]
        )


@router.post(
    "/chat/conversations/{conversation_id}/messages",
    response_model=MessageOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Ask a question; the answer arrives on the stream",
)
async def ask(
    conversation_id: UUID, body: QuestionIn, principal: PrincipalDep, state: StateDep
) -> MessageOut:
    message = await state.chat.ask(principal, conversation_id, body.message)
    return MessageOut.of(message)


@router.get(
    "/chat/conversations/{conversation_id}/stream",
    summary="Server-Sent Events: entries after 'after' (message), answer text (delta), done",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream(
    conversation_id: UUID,
    request: Request,
    principal: PrincipalDep,
    state: StateDep,
    after: int = Query(default=0, ge=0, description="the last entry seq already shown"),
) -> StreamingResponse:
    async with state.db.tenant_session(principal.org_id) as session:
        await chat.get(session, conversation_id)  # 404 for another organisation's
    return StreamingResponse(
        events(request, state, principal.org_id, conversation_id, after),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n".encode()


async def events(
    request: Request, state: Any, org_id: UUID, conversation_id: UUID, after: int
) -> AsyncIterator[bytes]:
    """Entries stored after ``after`` first, then live: each new entry once, in order."""
    last = after

    async def stored() -> list[bytes]:
        nonlocal last
        async with state.db.tenant_session(org_id) as session:
            rows = await chat.messages(session, conversation_id, after=last)
        out = []
        for row in rows:
            last = max(last, row.seq)
            out.append(_sse("message", MessageOut.of(row).model_dump(mode="json")))
        return out

    async with state.chat_live.subscribe(conversation_id) as queue:
        yield b"retry: 3000\nevent: ready\ndata: {}\n\n"
        for chunk in await stored():
            yield chunk
        while not await request.is_disconnected():
            try:
                event = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            kind = event.get("type")
            if kind == "message" and int(event.get("seq", 0)) > last:
                for chunk in await stored():
                    yield chunk
            elif kind == "delta":
                yield _sse("delta", {"text": str(event.get("text", ""))})
            elif kind == "done":
                for chunk in await stored():
                    yield chunk
                yield _sse("done", {})
