"""Action-item history and a tool hold, a ticket with a message and an attachment."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from vixpro.accounts.principal import Actor
from vixpro.db.action_items import raise_action_item
from vixpro.support import action_items, tickets
from vixpro.support.attachments import Upload, check

# The smallest valid PNG (1x1, transparent).
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


async def seed(state: Any, org_id: uuid.UUID, server_id: uuid.UUID, principal: Any) -> None:
    async with state.db.tenant_session(org_id) as session:
        raised = await raise_action_item(
            session, org_id, "load_uptime", "crashed", "seeded failure", "seeded"
        )
    staff = Actor("staff", None, "seed staff")
    async with state.db.system_session("test seed") as session:
        await action_items.staff_move(
            session, staff, state.manifest, raised.id, "pending_fix", "seeded"
        )
    async with state.db.tenant_session(org_id) as session:
        await tickets.open_ticket(
            session,
            principal,
            subject="seeded",
            severity="normal",
            body="seeded",
            files=[check(Upload("shot.png", PNG))],
        )
