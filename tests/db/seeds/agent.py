"""AI settings, a chat conversation about the server, and one question in it."""

from __future__ import annotations

import uuid
from typing import Any

from vixpro.ai import chat
from vixpro.ai import settings as ai_settings


async def seed(state: Any, org_id: uuid.UUID, server_id: uuid.UUID, principal: Any) -> None:
    async with state.db.tenant_session(org_id) as session:
        await ai_settings.update(session, principal, {"confidence_threshold": 0.7})
        conversation = await chat.create(session, principal, server_id=server_id)
        await chat.add(session, org_id, conversation.id, "user", "why is it slow?")
