"""The in-app bell: a notification per person, an unread count, marking read.

As a channel it rings every member of the organisation; events addressed to people (the
``members``, ``users`` and ``staff`` audiences) ring them whatever the rules say.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.db.models.notify import BellNotification, OutboxEntry
from vixpro.notify.base import Channel
from vixpro.notify.outbox import safe_link

PAGE = 50


class Bell(Channel):
    """Rung by the dispatcher in its own transaction (``ring``), never by a delivery job."""

    kind = "bell"
    title = "In-app bell"


def ring(session: AsyncSession, entry: OutboxEntry, user_ids: Iterable[uuid.UUID]) -> int:
    count = 0
    for user_id in user_ids:
        session.add(
            BellNotification(
                org_id=entry.org_id,
                user_id=user_id,
                outbox_id=entry.id,
                kind=entry.kind,
                title=entry.title,
                body=entry.body[:1000],
                link=safe_link(entry.link),
            )
        )
        count += 1
    return count


async def unread(session: AsyncSession, user_id: uuid.UUID) -> int:
    query = select(func.count()).where(
        BellNotification.user_id == user_id, BellNotification.read_at.is_(None)
    )
    return int(await session.scalar(query) or 0)


async def latest(
    session: AsyncSession, user_id: uuid.UUID, *, limit: int = PAGE, before: int | None = None
) -> Sequence[BellNotification]:
    query = select(BellNotification).where(BellNotification.user_id == user_id)
    if before is not None:
        query = query.where(BellNotification.id < before)
    return (await session.scalars(query.order_by(BellNotification.id.desc()).limit(limit))).all()


async def mark_read(session: AsyncSession, user_id: uuid.UUID, notification_id: int) -> bool:
    """Mark one of ``user_id``'s notifications read; False if it is not theirs (or absent)."""
    found = await session.scalar(
        select(BellNotification.id).where(
            BellNotification.id == notification_id, BellNotification.user_id == user_id
        )
    )
    if found is None:
        return False
    await session.execute(
        update(BellNotification)
        .where(BellNotification.id == notification_id, BellNotification.read_at.is_(None))
        .values(read_at=datetime.now(UTC))
    )
    return True


async def mark_all_read(session: AsyncSession, user_id: uuid.UUID) -> int:
    result = await session.execute(
        update(BellNotification)
        .where(BellNotification.user_id == user_id, BellNotification.read_at.is_(None))
        .values(read_at=datetime.now(UTC))
    )
    return int(getattr(result, "rowcount", 0) or 0)
