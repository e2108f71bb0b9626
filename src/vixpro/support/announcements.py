"""Platform maintenance announcements: staff announce, every organisation hears (bell + email)
and sees a banner on every dashboard page until the maintenance ends.

The service-level page promises 24 hours' notice for scheduled maintenance; a sooner start is
refused unless the announcement is marked as emergency maintenance.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.accounts import audit
from vixpro.accounts.errors import Conflict, InvalidInput, NotFound
from vixpro.accounts.principal import Actor
from vixpro.db.models import Organisation
from vixpro.db.models.support import Announcement
from vixpro.notify.events import EventKind
from vixpro.notify.outbox import emit

MIN_NOTICE = timedelta(hours=24)
MAX_LENGTH = timedelta(days=7)
MAX_TITLE = 200
MAX_BODY = 4000


def describe(row: Announcement) -> str:
    kind = "Emergency maintenance" if row.emergency else "Scheduled maintenance"
    return f"{kind} {row.starts_at:%Y-%m-%d %H:%M} to {row.ends_at:%Y-%m-%d %H:%M} UTC"


async def announce(
    session: AsyncSession,
    actor: Actor,
    *,
    title: str,
    body: str,
    starts_at: datetime,
    ends_at: datetime,
    emergency: bool,
    now: datetime | None = None,
) -> Announcement:
    """Store the announcement and write one outbox row per organisation (system session)."""
    now = now or datetime.now(UTC)
    title, body = title.strip(), body.strip()
    if not title or len(title) > MAX_TITLE:
        raise InvalidInput("title", f"must be 1 to {MAX_TITLE} characters")
    if len(body) > MAX_BODY:
        raise InvalidInput("body", f"at most {MAX_BODY} characters")
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidInput("starts_at", "times need a time zone (e.g. 2026-01-01T10:00:00Z)")
    if ends_at <= starts_at:
        raise InvalidInput("ends_at", "must be after starts_at")
    if ends_at - starts_at > MAX_LENGTH:
        raise InvalidInput("ends_at", "maintenance lasts at most 7 days")
    if ends_at <= now:
        raise InvalidInput("ends_at", "is in the past")
    if starts_at - now < MIN_NOTICE and not emergency:
        raise InvalidInput(
            "starts_at",
            "scheduled maintenance needs at least 24 hours' notice; "
            "start it later or mark it as emergency maintenance",
        )
    row = Announcement(
        title=title,
        body=body,
        starts_at=starts_at,
        ends_at=ends_at,
        emergency=emergency,
        created_by=actor.label,
    )
    session.add(row)
    await session.flush()
    orgs = await _every_org(session)
    for org_id in orgs:
        await emit(
            session,
            org_id,
            EventKind.MAINTENANCE_ANNOUNCED,
            f"{describe(row)}: {title}",
            body=body,
            link="/plan",
            subject_id=row.id,
            data={
                "audience": "members",
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
                "emergency": emergency,
            },
        )
    await audit.record(
        session,
        actor,
        "announcement.created",
        org_id=None,
        target_type="announcement",
        target_id=row.id,
        details={"organisations": len(orgs), "emergency": emergency},
    )
    return row


async def _every_org(session: AsyncSession) -> list[uuid.UUID]:
    return list((await session.scalars(select(Organisation.id).order_by(Organisation.id))).all())


async def cancel(session: AsyncSession, actor: Actor, announcement_id: uuid.UUID) -> Announcement:
    row = await session.get(Announcement, announcement_id)
    if row is None:
        raise NotFound("announcement")
    if row.cancelled_at is not None:
        raise Conflict("the announcement is already cancelled")
    now = datetime.now(UTC)
    if row.ends_at <= now:
        raise Conflict("the maintenance has already ended")
    row.cancelled_at = now
    for org_id in await _every_org(session):
        await emit(
            session,
            org_id,
            EventKind.MAINTENANCE_ANNOUNCED,
            f"Cancelled: {describe(row)}: {row.title}",
            body="The maintenance announced earlier will not take place.",
            link="/plan",
            subject_id=row.id,
            data={"audience": "members", "cancelled": True},
        )
    await audit.record(
        session,
        actor,
        "announcement.cancelled",
        org_id=None,
        target_type="announcement",
        target_id=row.id,
    )
    return row


async def current(session: AsyncSession, now: datetime | None = None) -> Sequence[Announcement]:
    """Announcements whose maintenance has not ended and that are not cancelled: the banner."""
    now = now or datetime.now(UTC)
    return (
        await session.scalars(
            select(Announcement)
            .where(Announcement.ends_at > now, Announcement.cancelled_at.is_(None))
            .order_by(Announcement.starts_at, Announcement.id)
        )
    ).all()


async def list_all(session: AsyncSession, limit: int = 100) -> Sequence[Announcement]:
    return (
        await session.scalars(
            select(Announcement).order_by(Announcement.starts_at.desc()).limit(limit)
        )
    ).all()
