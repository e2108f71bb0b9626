"""Answering a chat question: the AI agent on the conversation's server, streamed as it goes.

The run lives in the web process that received the question, as a task of this process
(:class:`ChatRunner`), not in a job: the person is waiting on a stream, and a job would add a
queue hop before the first word. Nothing depends on that process staying up: every entry (the
question, each tool call and approval request, the answer) is stored as it happens and
announced with PostgreSQL NOTIFY, so a stream on any replica shows it, and a page reload
shows the stored conversation. If the process dies mid-answer the question stays without an
answer, and asking again continues the conversation.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterable, Callable, Sequence
from typing import Any

from pydantic_ai import Agent, RunContext, UsageLimits
from pydantic_ai.exceptions import UsageLimitExceeded
from pydantic_ai.messages import (
    AgentStreamEvent,
    ModelMessage,
    ModelMessagesTypeAdapter,
    PartDeltaEvent,
    PartStartEvent,
    TextPart,
    TextPartDelta,
)
from pydantic_ai.models import Model
from sqlalchemy import select

from vixpro.accounts.principal import SYSTEM, Actor, Principal
from vixpro.ai import areas, chat, prompts, usage
from vixpro.ai import settings as settings_service
from vixpro.ai.failover import run_with_failover
from vixpro.ai.providers.base import ProviderSpec
from vixpro.ai.tooling import FleetBridge, ToolBridge, ToolEvent
from vixpro.core.approvals import Area
from vixpro.db.models import Manifest, Server
from vixpro.db.models.agent import ChatMessage
from vixpro.db.sessions import Database
from vixpro.tools import servers
from vixpro.tools.catalogue import tool_views
from vixpro.tools.executions import Requester, Runner

log = logging.getLogger(__name__)

DELTA_INTERVAL_S = 0.05  # streamed text is sent in pieces at most this often
HISTORY_TURNS = 20

ManifestSource = Callable[[], Manifest | None]


class ChatRunner:
    """Starts and owns the answering tasks of this process."""

    def __init__(
        self,
        db: Database,
        runner: Runner,
        manifest: ManifestSource,
        master_key: Callable[[], bytes],
        *,
        approval_wait_s: float | None = None,
    ) -> None:
        self.db = db
        self.runner = runner
        self.manifest = manifest
        self.master_key = master_key
        self.approval_wait_s = approval_wait_s
        self._tasks: set[asyncio.Task[None]] = set()

    async def ask(self, principal: Principal, conversation_id: uuid.UUID, text: str) -> ChatMessage:
        """Store the question and start answering it; the stored question."""
        chat.require_asker(principal)
        asked = chat.question(text)
        async with self.db.tenant_session(principal.org_id) as session:
            conversation = await chat.get(session, conversation_id)
            message = await chat.add(
                session,
                principal.org_id,
                conversation_id,
                "user",
                asked,
                {"by": principal.label},
            )
            server_id = conversation.server_id
        task = asyncio.create_task(
            self._answer(principal.org_id, conversation_id, server_id, principal.label)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return message

    async def wait_idle(self, seconds: float = 30) -> None:
        """Wait for the answers in progress (shutdown, tests)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=seconds)

    async def _store(
        self,
        org_id: uuid.UUID,
        conversation_id: uuid.UUID,
        role: str,
        content: str,
        data: dict[str, Any] | None = None,
    ) -> None:
        async with self.db.tenant_session(org_id) as session:
            await chat.add(session, org_id, conversation_id, role, content, data)

    async def _publish(
        self, org_id: uuid.UUID, conversation_id: uuid.UUID, event: dict[str, Any]
    ) -> None:
        async with self.db.tenant_session(org_id) as session:
            await chat.publish(session, conversation_id, event)

    async def _answer(
        self,
        org_id: uuid.UUID,
        conversation_id: uuid.UUID,
        server_id: uuid.UUID | None,
        asker: str,
    ) -> None:
        try:
            await self._answer_or_fail(org_id, conversation_id, server_id, asker)
        except Exception as exc:  # the stream must end, whatever broke
            log.exception("chat answer failed")
            await self._store(
                org_id,
                conversation_id,
                "error",
                f"The answer stopped with an error ({type(exc).__name__}).",
            )
        await self._publish(org_id, conversation_id, {"type": "done"})

    async def _answer_or_fail(
        self,
        org_id: uuid.UUID,
        conversation_id: uuid.UUID,
        server_id: uuid.UUID | None,
        asker: str,
    ) -> None:
        async with self.db.tenant_session(org_id) as session:
            chain = await areas.chain_for(session, self.master_key(), org_id, "chat")
            ai_settings = await settings_service.for_org(session, org_id)
            history, question = await _history(session, conversation_id)
            server = await session.get(Server, server_id) if server_id else None
            manifest = self.manifest()
            views = await tool_views(session, manifest) if manifest is not None else []
            fleet = (
                {}
                if server is not None
                else {
                    s.name: (s.id, s.status) for s in await servers.list_servers(session, limit=200)
                }
            )
        if not chain:
            await self._store(
                org_id,
                conversation_id,
                "error",
                "No AI provider is set up for chat. An owner or admin can add a key and "
                "choose a chat provider on the AI providers page.",
            )
            return
        if manifest is None:
            await self._store(
                org_id, conversation_id, "error", "This process cannot run tools right now."
            )
            return

        async def on_tool(event: ToolEvent) -> None:
            await self._tool_entry(org_id, conversation_id, event)

        requester = Requester(
            actor=Actor(SYSTEM.type, None, f"AI chat for {asker}"[:254]), area=Area.CHAT
        )
        bridge: ToolBridge | FleetBridge
        if server is not None:
            about = f"The server is {server.name}."
            bridge = ToolBridge(
                self.runner,
                manifest,
                org_id,
                server.id,
                views,
                requester,
                budget=ai_settings.tool_call_budget,
                approval_wait_s=self.approval_wait_s,
                on_event=on_tool,
            )
        else:
            about = "The question is about the organisation's servers (the fleet)."
            bridge = FleetBridge(
                self.runner,
                manifest,
                org_id,
                fleet,
                views,
                requester,
                budget=ai_settings.tool_call_budget,
                approval_wait_s=self.approval_wait_s,
                on_event=on_tool,
            )

        async def attempt(model: Model, spec: ProviderSpec) -> tuple[str, list[ModelMessage], Any]:
            agent: Agent[None, str] = Agent(
                model, instructions=f"{prompts.CHAT}\n{about}", tools=bridge.tools()
            )
            result = await agent.run(
                question,
                message_history=history or None,
                usage_limits=UsageLimits(request_limit=bridge.budget + 10),
                event_stream_handler=self._streamer(org_id, conversation_id),
            )
            return result.output, result.all_messages(), result.usage

        async def on_switch(spec: ProviderSpec, reason: str) -> None:
            await self._store(
                org_id,
                conversation_id,
                "error",
                f"{spec.name} ({spec.model}) failed: {reason}. Trying the next provider.",
                {"provider": spec.name, "reason": reason},
            )

        try:
            found = await run_with_failover(chain, attempt, on_switch)
        except UsageLimitExceeded:
            await self._store(
                org_id,
                conversation_id,
                "error",
                "The answer used up its tool-call budget before finishing.",
            )
            return
        if found is None:
            await self._store(
                org_id, conversation_id, "error", "No chat provider answered. Try again later."
            )
            return
        (answer, messages, run_usage), spec = found
        async with self.db.tenant_session(org_id) as session:
            await chat.add(
                session,
                org_id,
                conversation_id,
                "assistant",
                answer,
                {
                    "provider": spec.name,
                    "model": spec.model,
                    "history": ModelMessagesTypeAdapter.dump_python(messages, mode="json"),
                },
            )
            await usage.record(
                session,
                org_id,
                area="chat",
                spec=spec,
                tokens_in=run_usage.input_tokens or 0,
                tokens_out=run_usage.output_tokens or 0,
                conversation_id=conversation_id,
            )

    def _streamer(
        self, org_id: uuid.UUID, conversation_id: uuid.UUID
    ) -> Callable[[RunContext[None], AsyncIterable[AgentStreamEvent]], Any]:
        async def handle(ctx: RunContext[None], events: AsyncIterable[AgentStreamEvent]) -> None:
            pending: list[str] = []
            sent = time.monotonic()
            async for event in events:
                piece = ""
                if isinstance(event, PartStartEvent) and isinstance(event.part, TextPart):
                    piece = event.part.content
                elif isinstance(event, PartDeltaEvent) and isinstance(event.delta, TextPartDelta):
                    piece = event.delta.content_delta
                if piece:
                    pending.append(piece)
                if pending and time.monotonic() - sent >= DELTA_INTERVAL_S:
                    await self._publish(
                        org_id, conversation_id, {"type": "delta", "text": "".join(pending)}
                    )
                    pending, sent = [], time.monotonic()
            if pending:
                await self._publish(
                    org_id, conversation_id, {"type": "delta", "text": "".join(pending)}
                )

        return handle

    async def _tool_entry(
        self, org_id: uuid.UUID, conversation_id: uuid.UUID, event: ToolEvent
    ) -> None:
        on = f" on {event.server}" if event.server else ""
        data = {
            "server": event.server or None,
            "tool": event.tool,
            "params": event.params,
            "status": event.status,
            "execution_id": str(event.execution_id) if event.execution_id else None,
            "approval_id": str(event.approval_id) if event.approval_id else None,
        }
        if event.kind == "approval_requested":
            await self._store(
                org_id,
                conversation_id,
                "approval",
                f"Approval needed to run {event.tool}{on}",
                data,
            )
        elif event.kind == "tool_finished":
            detail = "" if event.status == "succeeded" else f" ({event.status})"
            await self._store(
                org_id, conversation_id, "tool", f"Ran {event.tool}{on}{detail}", data
            )
        elif event.kind == "tool_refused":
            await self._store(
                org_id,
                conversation_id,
                "tool",
                f"Refused {event.tool}{on}: {event.detail}",
                data,
            )


async def _history(session: Any, conversation_id: uuid.UUID) -> tuple[list[ModelMessage], str]:
    """The last answer's run (what the model saw and said) and the newest question."""
    entries: Sequence[ChatMessage] = (
        await session.scalars(
            select(ChatMessage)
            .where(
                ChatMessage.conversation_id == conversation_id,
                ChatMessage.role.in_(("user", "assistant")),
            )
            .order_by(ChatMessage.seq.desc())
            .limit(HISTORY_TURNS)
        )
    ).all()
    question = next((e.content for e in entries if e.role == "user"), "")
    last_answer = next((e for e in entries if e.role == "assistant"), None)
    history: list[ModelMessage] = []
    if last_answer is not None and last_answer.data.get("history"):
        history = ModelMessagesTypeAdapter.validate_python(last_answer.data["history"])
    return history, question
