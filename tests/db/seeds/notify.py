"""Notification outbox rows."""

from __future__ import annotations

import uuid
from typing import Any

from vixpro.notify.events import EventKind
from vixpro.notify.outbox import emit


async def seed(state: Any, org_id: uuid.UUID, server_id: uuid.UUID, principal: Any) -> None:
    async with state.db.tenant_session(org_id) as session:
        await emit(session, org_id, EventKind.STORM, "seeded", link="/incidents")
