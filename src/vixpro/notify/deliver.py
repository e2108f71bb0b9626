"""Sending one delivery and recording the attempt; sending a channel's test message.

An attempt is recorded in its own transaction whatever happens, with what the other side
answered. A permanent failure marks the channel failing and tells the organisation (bell and
email to its members); a transient one is retried by the job with exponential backoff, and
marks the delivery failed after the last attempt.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.db.models import Membership, Organisation
from vixpro.db.models.notify import (
    Attempt,
    Delivery,
    NotificationChannel,
    OutboxEmail,
    OutboxEntry,
)
from vixpro.db.sessions import Database
from vixpro.notify import channels
from vixpro.notify import email as email_channel
from vixpro.notify.base import ChannelError, Context, Message, Sent
from vixpro.notify.bell import ring
from vixpro.notify.events import EventKind
from vixpro.notify.outbox import emit, safe_link
from vixpro.notify.registry import SENDERS
from vixpro.settings import Settings

TEST_KIND = "test"


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    permanent: bool
    status: int | None
    response: str
    error: str | None


def client(settings: Settings) -> httpx.AsyncClient:
    """The HTTP client every delivery uses: bounded in time, never following redirects to
    wherever a webhook points them."""
    timeout = httpx.Timeout(settings.notify_timeout_seconds)
    return httpx.AsyncClient(
        timeout=timeout,
        follow_redirects=False,
        headers={"User-Agent": "VixPro-Notifications/1"},
        limits=httpx.Limits(max_connections=20),
    )


def message_for(entry: OutboxEntry | None, delivery: Delivery, org_name: str, base: str) -> Message:
    if entry is None:  # the outbox row was purged: send what the delivery remembers
        return Message(delivery.event_kind, delivery.title, "", f"{base}/notifications", org_name)
    link = safe_link(entry.link) or "/notifications"
    data: dict[str, Any] = {
        k: v for k, v in entry.data.items() if k not in ("audience", "user_ids")
    }
    return Message(
        kind=entry.kind,
        title=entry.title,
        body=entry.body,
        url=f"{base}{link}",
        org_name=org_name,
        subject_id=entry.subject_id,
        data=data,
    )


def test_message(org_name: str, base: str, name: str) -> Message:
    return Message(
        kind=TEST_KIND,
        title=f"Test notification from VixPro to {name}",
        body="If you can read this, the channel works. Nothing has happened.",
        url=f"{base}/notifications",
        org_name=org_name,
        subject_id=uuid.uuid4(),  # a PagerDuty test is its own alert, never a real incident's
        test=True,
    )


async def _send(
    db: Database,
    settings: Settings,
    http: httpx.AsyncClient,
    delivery: Delivery,
    channel: NotificationChannel | None,
    message: Message,
) -> Outcome:
    org_id, delivery_id = delivery.org_id, delivery.id

    async def keep(to: str, subject: str, text: str, html: str) -> None:
        async with db.tenant_session(org_id) as session:
            session.add(
                OutboxEmail(
                    org_id=org_id,
                    delivery_id=delivery_id,
                    to_addr=to,
                    subject=subject,
                    text_body=text,
                    html_body=html,
                )
            )

    context = Context(settings=settings, client=http, keep_email=keep)
    # A generous bound over the whole send: a channel that hangs never holds a worker forever.
    limit = settings.notify_timeout_seconds * 3 + settings.smtp_timeout_seconds
    try:
        async with asyncio.timeout(limit):
            sent: Sent
            if channel is None:  # a person's email
                sent = await email_channel.send(context, delivery.target, message)
            else:
                kind = SENDERS[channel.kind]
                secret = channels.secret_of(channel, settings.master_key_bytes())
                sent = await kind.send(message, channels.config_of(channel), secret, context)
    except ChannelError as exc:
        return Outcome(False, exc.permanent, exc.status, exc.response, str(exc))
    except TimeoutError:
        return Outcome(False, False, None, "", "the channel did not finish in time")
    return Outcome(True, False, sent.status, sent.response, None)


async def _record(
    db: Database,
    delivery: Delivery,
    outcome: Outcome,
    *,
    final: bool,
) -> str:
    now = datetime.now(UTC)
    async with db.tenant_session(delivery.org_id) as session:
        row = await session.get(Delivery, delivery.id, with_for_update=True)
        if row is None:
            return "gone"
        row.attempts += 1
        session.add(
            Attempt(
                org_id=row.org_id,
                delivery_id=row.id,
                attempt=row.attempts,
                ok=outcome.ok,
                permanent=outcome.permanent,
                status=outcome.status,
                response=outcome.response,
                error=outcome.error,
            )
        )
        channel = await session.get(NotificationChannel, row.channel_id) if row.channel_id else None
        if outcome.ok:
            row.state, row.delivered_at, row.last_error = "sent", now, None
            if channel is not None:
                channel.last_sent_at = now
                if channel.status == "failing":
                    channel.status, channel.failure, channel.failing_since = "ok", None, None
        elif outcome.permanent or final:
            row.state, row.last_error = "failed", outcome.error
            if outcome.permanent and channel is not None:
                await _flag(session, channel, outcome.error or "failed", now)
        else:
            row.state, row.last_error = "retrying", outcome.error
        return row.state


async def _flag(
    session: AsyncSession, channel: NotificationChannel, error: str, now: datetime
) -> None:
    """Mark ``channel`` failing and tell the organisation, once per failure."""
    already = channel.status == "failing"
    channel.status, channel.failure = "failing", error[:500]
    if already:
        return
    channel.failing_since = now
    await emit(
        session,
        channel.org_id,
        EventKind.CHANNEL_FAILING,
        f"Notification channel {channel.name} is failing",
        body=f"{error}. VixPro stopped sending to it; fix its settings, then send a test.",
        link="/notifications",
        subject_id=channel.id,
        data={"audience": "members", "channel_id": str(channel.id)},
    )


async def deliver(
    db: Database,
    settings: Settings,
    http: httpx.AsyncClient,
    org_id: uuid.UUID,
    delivery_id: uuid.UUID,
    *,
    final: bool,
) -> tuple[str, Outcome | None]:
    """Try one delivery once; returns its state afterwards (``retrying`` means try again)."""
    async with db.tenant_session(org_id) as session:
        delivery = await session.get(Delivery, delivery_id)
        if delivery is None or delivery.state in ("sent", "failed"):
            return (delivery.state if delivery else "gone"), None
        channel = (
            await session.get(NotificationChannel, delivery.channel_id)
            if delivery.channel_id
            else None
        )
        if delivery.channel_id and channel is None:
            return "gone", None
        entry = await session.get(OutboxEntry, delivery.outbox_id) if delivery.outbox_id else None
        org = await session.get(Organisation, org_id)
        org_name = org.name if org else ""
    if channel is not None and channel.status == "failing" and delivery.event_kind != TEST_KIND:
        outcome = Outcome(
            False, True, None, "", f"not sent: the channel is failing ({channel.failure})"
        )
        return await _record(db, delivery, outcome, final=True), outcome
    message = message_for(entry, delivery, org_name, settings.base_url)
    outcome = await _send(db, settings, http, delivery, channel, message)
    return await _record(db, delivery, outcome, final=final), outcome


async def send_test(
    db: Database,
    settings: Settings,
    http: httpx.AsyncClient,
    org_id: uuid.UUID,
    channel_id: uuid.UUID,
) -> tuple[Delivery, Outcome]:
    """Send the channel a test message now (the caller checked who may), recorded in its log.

    Success clears a failing channel; a permanent failure flags it.
    """
    async with db.tenant_session(org_id) as session:
        channel = await channels.get(session, channel_id)
        org = await session.get(Organisation, org_id)
        message = test_message(org.name if org else "", settings.base_url, channel.name)
        delivery = Delivery(
            id=uuid.uuid4(),
            org_id=org_id,
            channel_id=channel.id,
            channel_kind=channel.kind,
            event_kind=TEST_KIND,
            title=message.title,
            state="pending",
            attempts=0,
        )
        session.add(delivery)
    if channel.kind == "bell":
        async with db.tenant_session(org_id) as session:
            members = await _member_ids(session, org_id)
            entry = OutboxEntry(
                org_id=org_id,
                kind=TEST_KIND,
                title=message.title,
                body=message.body,
                link="/notifications",
                data={},
            )
            session.add(entry)
            await session.flush()
            ring(session, entry, members)
            entry.dispatched_at = datetime.now(UTC)
        outcome = Outcome(True, False, None, f"rang {len(members)} people", None)
    else:
        outcome = await _send(db, settings, http, delivery, channel, message)
    await _record(db, delivery, outcome, final=True)
    return delivery, outcome


async def _member_ids(session: AsyncSession, org_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        (await session.scalars(select(Membership.user_id).where(Membership.org_id == org_id))).all()
    )
