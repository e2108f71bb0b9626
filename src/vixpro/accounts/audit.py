"""The audit trail: every security-relevant change and every staff cross-org read."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.accounts.principal import Actor
from vixpro.core.pagination import Cursor
from vixpro.db.models import AuditEvent
from vixpro.db.paging import keyset


async def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    *,
    org_id: uuid.UUID | None,
    target_type: str | None = None,
    target_id: object = None,
    details: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEvent(
            org_id=org_id,
            actor_type=actor.type,
            actor_id=actor.id,
            actor_label=actor.label,
            action=action,
            target_type=target_type,
            target_id=None if target_id is None else str(target_id),
            details=details or {},
            ip=actor.ip,
        )
    )
    await session.flush()


async def list_events(
    session: AsyncSession, *, limit: int, cursor: Cursor | None, action: str | None = None
) -> Sequence[AuditEvent]:
    """Newest first; in a tenant session this is the organisation's own trail."""
    query = keyset(
        select(AuditEvent), AuditEvent.at, AuditEvent.id, cursor, limit, newest_first=True
    )
    if action:
        query = query.where(AuditEvent.action == action)
    return (await session.scalars(query)).all()
