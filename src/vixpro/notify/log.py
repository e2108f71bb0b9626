"""The delivery log: every delivery, newest first, with each attempt and what was answered."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.accounts.errors import NotFound
from vixpro.core.pagination import Cursor
from vixpro.db.models.notify import Attempt, Delivery
from vixpro.db.paging import keyset


async def deliveries(
    session: AsyncSession,
    *,
    limit: int,
    cursor: Cursor | None = None,
    channel_id: uuid.UUID | None = None,
) -> Sequence[Delivery]:
    query = keyset(
        select(Delivery), Delivery.created_at, Delivery.id, cursor, limit, newest_first=True
    )
    if channel_id is not None:
        query = query.where(Delivery.channel_id == channel_id)
    return (await session.scalars(query)).all()


async def get(session: AsyncSession, delivery_id: uuid.UUID) -> Delivery:
    row = await session.get(Delivery, delivery_id)
    if row is None:
        raise NotFound("delivery")
    return row


async def attempts(
    session: AsyncSession, delivery_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Attempt]]:
    found: dict[uuid.UUID, list[Attempt]] = {i: [] for i in delivery_ids}
    if not delivery_ids:
        return found
    query = select(Attempt).where(Attempt.delivery_id.in_(delivery_ids)).order_by(Attempt.id)
    for row in await session.scalars(query):
        found[row.delivery_id].append(row)
    return found
