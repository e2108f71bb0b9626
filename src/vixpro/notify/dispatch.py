"""The dispatcher: claims outbox rows, decides who hears about each, and makes the deliveries.

Runs as the system role (events of every organisation), a batch per transaction, claiming with
``FOR UPDATE SKIP LOCKED`` so that several workers share the work. The bell is rung here (a row
per person, in the same transaction); everything that leaves the platform becomes a
``notification_deliveries`` row and one delivery job each, deferred after commit.

Who hears about an event is its ``data["audience"]``:

- absent or ``"rules"``: the organisation's enabled channels whose rules include the kind;
- ``"members"``: bell and email to every member of the organisation;
- ``"users"`` (with ``data["user_ids"]``): bell and email to exactly those users;
- ``"staff"``: bell and email to every platform staff user.

The last three happen whatever the organisation's rules say. Events addressed to an
organisation's people (``"members"``, ``"users"``) also go to its channels whose rules include
the kind (a ticket reply or a maintenance announcement on Slack, say); the bell has rung for
those people already, so a bell channel adds nothing. Staff events stay with the staff.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.db.models import Membership, User
from vixpro.db.models.notify import Delivery, NotificationChannel, OutboxEntry
from vixpro.notify import bell

BATCH = 200

_CLAIM = text(
    """
SELECT id FROM notification_outbox
WHERE dispatched_at IS NULL
ORDER BY id
LIMIT :limit
FOR UPDATE SKIP LOCKED
"""
)


@dataclass(frozen=True, slots=True)
class Planned:
    """A delivery to hand to a job once the dispatcher's transaction has committed."""

    org_id: uuid.UUID
    delivery_id: uuid.UUID


@dataclass(slots=True)
class Dispatched:
    events: int = 0
    rung: int = 0
    planned: list[Planned] | None = None


async def _people(session: AsyncSession, entry: OutboxEntry) -> list[tuple[uuid.UUID, str]]:
    """(user id, email) of the people an event is addressed to; empty for ``rules``."""
    audience = entry.data.get("audience", "rules")
    query = select(User.id, User.email).where(User.is_active.is_(True))
    if audience == "members":
        query = query.join(Membership, Membership.user_id == User.id).where(
            Membership.org_id == entry.org_id
        )
    elif audience == "users":
        ids: list[uuid.UUID] = []
        for value in entry.data.get("user_ids") or []:
            try:
                ids.append(uuid.UUID(str(value)))
            except ValueError:
                continue
        query = query.where(User.id.in_(ids))
    elif audience == "staff":
        query = query.where(User.is_staff.is_(True))
    else:
        return []
    return [(row.id, row.email) for row in (await session.execute(query.order_by(User.email)))]


async def _members(session: AsyncSession, org_id: uuid.UUID) -> list[uuid.UUID]:
    query = (
        select(User.id)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.org_id == org_id, User.is_active.is_(True))
    )
    return list((await session.scalars(query)).all())


def _delivery(
    entry: OutboxEntry,
    kind: str,
    *,
    channel_id: uuid.UUID | None = None,
    target: str = "",
    state: str = "pending",
    error: str | None = None,
) -> Delivery:
    return Delivery(
        id=uuid.uuid4(),
        org_id=entry.org_id,
        outbox_id=entry.id,
        channel_id=channel_id,
        channel_kind=kind,
        target=target,
        event_kind=entry.kind,
        title=entry.title,
        state=state,
        attempts=0,
        last_error=error,
        delivered_at=datetime.now(UTC) if state == "sent" else None,
    )


def critical(entry: OutboxEntry) -> bool:
    """Whether an event is critical: a critical incident's, a storm's, a host agent's trouble."""
    return entry.data.get("severity") == "critical" or entry.kind.startswith("hostagent.")


async def _by_rules(
    session: AsyncSession,
    entry: OutboxEntry,
    channels: Sequence[NotificationChannel],
    *,
    bell_rung: bool = False,
) -> tuple[list[Delivery], int]:
    deliveries: list[Delivery] = []
    rung = 0
    for channel in channels:
        if not channel.enabled or entry.kind not in (channel.events or []):
            continue
        if channel.critical_only and not critical(entry):
            continue
        if channel.kind == "bell" and bell_rung:
            continue
        if channel.kind == "bell":
            rung += bell.ring(session, entry, await _members(session, entry.org_id))
            deliveries.append(_delivery(entry, "bell", channel_id=channel.id, state="sent"))
        elif channel.status == "failing":
            # Flagged already: kept in the log, not sent, until someone fixes or tests it.
            deliveries.append(
                _delivery(
                    entry,
                    channel.kind,
                    channel_id=channel.id,
                    state="failed",
                    error=f"not sent: the channel is failing ({channel.failure or 'see its log'})",
                )
            )
        else:
            deliveries.append(_delivery(entry, channel.kind, channel_id=channel.id))
    return deliveries, rung


async def dispatch(session: AsyncSession, limit: int = BATCH) -> Dispatched:
    """Claim up to ``limit`` undispatched events (system session) and plan their deliveries."""
    ids = list((await session.scalars(_CLAIM, {"limit": limit})).all())
    result = Dispatched(planned=[])
    if not ids:
        return result
    entries = (
        await session.scalars(
            select(OutboxEntry).where(OutboxEntry.id.in_(ids)).order_by(OutboxEntry.id)
        )
    ).all()
    orgs = {e.org_id for e in entries}
    rows = await session.scalars(
        select(NotificationChannel)
        .where(NotificationChannel.org_id.in_(orgs))
        .order_by(NotificationChannel.created_at)
    )
    channels: dict[uuid.UUID, list[NotificationChannel]] = {}
    for channel in rows:
        channels.setdefault(channel.org_id, []).append(channel)
    now = datetime.now(UTC)
    deliveries: list[Delivery] = []
    for entry in entries:
        people = await _people(session, entry)
        audience = entry.data.get("audience", "rules")
        if people:
            result.rung += bell.ring(session, entry, [user_id for user_id, _ in people])
            deliveries.extend(_delivery(entry, "email", target=email) for _, email in people)
        if audience in ("rules", "members", "users"):
            made, rung = await _by_rules(
                session, entry, channels.get(entry.org_id, []), bell_rung=bool(people)
            )
            deliveries.extend(made)
            result.rung += rung
        entry.dispatched_at = now
        result.events += 1
    session.add_all(deliveries)
    await session.flush()
    assert result.planned is not None
    result.planned.extend(Planned(d.org_id, d.id) for d in deliveries if d.state == "pending")
    return result


async def pending_deliveries(session: AsyncSession, limit: int = 500) -> list[Planned]:
    """Deliveries still pending long after they were made (a crash between commit and defer)."""
    rows = await session.execute(
        text(
            "SELECT org_id, id FROM notification_deliveries WHERE state = 'pending' "
            "AND attempts = 0 AND created_at < now() - interval '2 minutes' "
            "ORDER BY created_at LIMIT :limit"
        ),
        {"limit": limit},
    )
    return [Planned(row.org_id, row.id) for row in rows]


# How long the record of notifications is kept. Bell notifications stay longer: people scroll.
KEEP_DAYS = 30
KEEP_BELL_DAYS = 90
PURGE_BATCH = 5000
_PURGES = (
    "DELETE FROM notification_outbox WHERE id IN (SELECT id FROM notification_outbox "
    "WHERE dispatched_at < now() - make_interval(days => :days) LIMIT :limit)",
    "DELETE FROM notification_deliveries WHERE id IN (SELECT id FROM notification_deliveries "
    "WHERE created_at < now() - make_interval(days => :days) LIMIT :limit)",
    "DELETE FROM email_outbox WHERE id IN (SELECT id FROM email_outbox "
    "WHERE created_at < now() - make_interval(days => :days) LIMIT :limit)",
)
_PURGE_BELL = (
    "DELETE FROM bell_notifications WHERE id IN (SELECT id FROM bell_notifications "
    "WHERE created_at < now() - make_interval(days => :days) LIMIT :limit)"
)


async def purge_old(session: AsyncSession) -> int:
    """Delete old events, deliveries (with their attempts), kept emails and bell rows (system
    session); a batch of each per call, so a long backlog never holds one huge transaction."""
    deleted = 0
    params = {"days": KEEP_DAYS, "limit": PURGE_BATCH}
    for statement in _PURGES:
        result = await session.execute(text(statement), params)
        deleted += int(getattr(result, "rowcount", 0) or 0)
    result = await session.execute(
        text(_PURGE_BELL), {"days": KEEP_BELL_DAYS, "limit": PURGE_BATCH}
    )
    return deleted + int(getattr(result, "rowcount", 0) or 0)
