"""Sweeps run by the periodic purge job (system session: they span organisations)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.db.models import ApiRequestCount, Invitation, LoginFailure, LoginSession


@dataclass(frozen=True)
class Purged:
    sessions: int
    invitations: int
    counters: int


async def purge_expired(session: AsyncSession) -> Purged:
    now = datetime.now(UTC)
    sessions = await session.execute(delete(LoginSession).where(LoginSession.expires_at <= now))
    invitations = await session.execute(
        delete(Invitation).where(Invitation.accepted_at.is_(None), Invitation.expires_at <= now)
    )
    day_ago = now - timedelta(days=1)
    counters = await session.execute(
        delete(ApiRequestCount).where(ApiRequestCount.window_start < day_ago)
    )
    failures = await session.execute(
        delete(LoginFailure).where(LoginFailure.window_start < day_ago)
    )
    return Purged(
        sessions=sessions.rowcount,  # type: ignore[attr-defined]
        invitations=invitations.rowcount,  # type: ignore[attr-defined]
        counters=counters.rowcount + failures.rowcount,  # type: ignore[attr-defined]
    )
