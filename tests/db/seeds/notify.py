"""Notifications: the outbox, a channel, deliveries and attempts, the bell, the email outbox."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from vixpro.db.models.notify import Delivery
from vixpro.notify import channels, deliver, dispatch
from vixpro.notify.events import EventKind
from vixpro.notify.outbox import emit


async def seed(state: Any, org_id: uuid.UUID, server_id: uuid.UUID, principal: Any) -> None:
    async with state.db.tenant_session(org_id) as session:
        await emit(session, org_id, EventKind.STORM, "seeded", link="/incidents")
        await channels.create(
            session,
            principal,
            state.settings.master_key_bytes(),
            kind="bell",
            name="bell",
            events=[EventKind.STORM.value],
        )
        # Addressed to the members: a bell ring and an email each (kept: no SMTP in tests).
        await emit(
            session, org_id, EventKind.MAINTENANCE_ANNOUNCED, "seeded", data={"audience": "members"}
        )
    async with state.db.system_session("test seed: dispatch") as session:
        await dispatch.dispatch(session)
    async with state.db.tenant_session(org_id) as session:
        pending = (
            await session.scalars(select(Delivery.id).where(Delivery.state == "pending"))
        ).all()
    async with deliver.client(state.settings) as http:
        for delivery_id in pending:
            await deliver.deliver(state.db, state.settings, http, org_id, delivery_id, final=True)
