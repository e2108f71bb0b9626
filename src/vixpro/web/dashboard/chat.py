"""The chat pages: conversations about a server, asking, and the answer streaming in.

The page renders the stored conversation; vixpro.js then listens to the conversation's
Server-Sent Events (``/api/v1/chat/conversations/{id}/stream``, signed in by the session
cookie): answer text arrives as ``delta`` events, and for each stored entry (the question, a
tool call, an approval request, the answer) it fetches the entries' HTML from
``/chat/{id}/entries?after=N`` here, so entries are rendered in one place.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from vixpro.accounts.errors import NotFound
from vixpro.ai import chat
from vixpro.db.models import Approval
from vixpro.db.models.agent import ChatMessage
from vixpro.tools import servers
from vixpro.web.dashboard.pages import FORM_ERRORS, error_message, redirect, render
from vixpro.web.dashboard.servers import server_names
from vixpro.web.dashboard.session import Member, MemberDep, WriterDep
from vixpro.web.deps import StateDep
from vixpro.web.state import AppState

router = APIRouter(prefix="/chat")


async def _list_context(state: AppState, member: Member) -> dict[str, Any]:
    async with state.db.tenant_session(member.principal.org_id) as session:
        conversations = await chat.list_conversations(session, limit=100)
        fleet = await servers.list_servers(session, limit=200)
        names = await server_names(
            session, [c.server_id for c in conversations if c.server_id is not None]
        )
    return {
        "conversations": conversations,
        "servers": fleet,
        "names": names,
        "can_ask": not member.role.read_only,
    }


@router.get("")
async def chat_page(request: Request, state: StateDep, member: MemberDep) -> Response:
    return render(request, "chat.html", await _list_context(state, member))


@router.post("")
async def start(
    request: Request,
    state: StateDep,
    member: WriterDep,
    server_id: Annotated[str, Form(max_length=40)] = "",
    title: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    try:
        try:
            chosen = uuid.UUID(server_id) if server_id else None
        except ValueError:
            raise NotFound("server") from None
        async with state.db.tenant_session(member.principal.org_id) as session:
            conversation = await chat.create(
                session, member.principal, server_id=chosen, title=title
            )
            target = f"/chat/{conversation.id}"
    except FORM_ERRORS as exc:
        status, message = error_message(exc)
        context = await _list_context(state, member)
        return render(request, "chat.html", context, status=status, error=message)
    return redirect(request, target)


async def _entries(
    state: AppState, member: Member, conversation_id: uuid.UUID, after: int = 0
) -> dict[str, Any]:
    async with state.db.tenant_session(member.principal.org_id) as session:
        entries = list(await chat.messages(session, conversation_id, after=after))
        approval_ids = [
            uuid.UUID(m.data["approval_id"])
            for m in entries
            if m.role == "approval" and m.data.get("approval_id")
        ]
        approvals = {
            a.id: a
            for a in (
                await session.scalars(select(Approval).where(Approval.id.in_(approval_ids)))
            ).all()
        }
    return {
        "entries": entries,
        "approvals": {str(k): v for k, v in approvals.items()},
        "manages": member.manages,
    }


def last_seq(entries: list[ChatMessage]) -> int:
    return entries[-1].seq if entries else 0


@router.get("/{conversation_id}")
async def conversation_page(
    request: Request, state: StateDep, member: MemberDep, conversation_id: uuid.UUID
) -> Response:
    async with state.db.tenant_session(member.principal.org_id) as session:
        conversation = await chat.get(session, conversation_id)
        server = (
            await servers.get_server(session, conversation.server_id)
            if conversation.server_id
            else None
        )
    context = await _entries(state, member, conversation_id)
    return render(
        request,
        "chat_conversation.html",
        {
            **context,
            "conversation": conversation,
            "server": server,
            "last_seq": last_seq(context["entries"]),
            "can_ask": not member.role.read_only,
            "stream": f"/api/v1/chat/conversations/{conversation_id}/stream",
        },
    )


@router.get("/{conversation_id}/entries")
async def entries_fragment(
    request: Request,
    state: StateDep,
    member: MemberDep,
    conversation_id: uuid.UUID,
    after: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """The entries after ``after``, as list items (what the live stream appends)."""
    async with state.db.tenant_session(member.principal.org_id) as session:
        await chat.get(session, conversation_id)
    context = await _entries(state, member, conversation_id, after)
    return render(request, "_chat_entries.html", context)


@router.post("/{conversation_id}/ask")
async def ask(
    request: Request,
    state: StateDep,
    member: WriterDep,
    conversation_id: uuid.UUID,
    message: Annotated[str, Form(max_length=chat.MAX_QUESTION + 100)] = "",
) -> Response:
    try:
        asked = await state.chat.ask(member.principal, conversation_id, message)
    except FORM_ERRORS as exc:
        status, text = error_message(exc)
        return Response(text, status_code=status, media_type="text/plain")
    if request.headers.get("X-Chat-Ask"):  # vixpro.js: the stream shows the rest
        return Response(str(asked.seq), media_type="text/plain")
    return redirect(request, f"/chat/{conversation_id}")
