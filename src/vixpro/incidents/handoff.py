"""Handing incidents to the AI agent: a queue per organisation, at most N diagnoses at once.

An AI-eligible incident is created ``queued``. A ``diagnose_incident`` job claims a slot (the
plan's "concurrent reactive agents"); the oldest queued incidents go first, the rest wait and
are started as slots free up. Storm incidents are ``held`` until the storm is quiet.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.core.incidents import AiState, storm_over
from vixpro.db.models import Incident
from vixpro.db.sessions import Database
from vixpro.incidents.service import add_event, notify_changed
from vixpro.incidents.storage import startable_sql


def _lock_sql(placeholder: str) -> str:
    """The organisation's AI-queue lock, with ``placeholder`` as its bind marker (the ORM's
    ``:org``, or psycopg's ``%(org)s``)."""
    return f"SELECT pg_advisory_xact_lock(hashtextextended('vixpro-ai:' || {placeholder}, 0))"


_LOCK = text(_lock_sql(":org"))


_STARTABLE = text(startable_sql(":org"))


async def startable(session: AsyncSession, org_id: uuid.UUID) -> list[uuid.UUID]:
    """Queued incidents that fit in the free slots right now."""
    rows = await session.execute(_STARTABLE, {"org": org_id})
    return [r[0] for r in rows]


async def claim_many(
    db: Database, org_id: uuid.UUID, incident_ids: Sequence[uuid.UUID]
) -> list[bool]:
    """Move each of ``incident_ids`` from queued to running if a slot is free and it is next
    in line, answering in their order, in one transaction of one round trip: the answers are
    those of claiming them one after the other, since claiming a startable incident leaves
    the other startable ones startable and makes none startable that was not. (A diagnosis's start waits on this; through the ORM it was about a third of the
    worker's CPU per start.)"""
    async with db.tenant_pipeline(org_id) as conn:
        await conn.execute(_LOCK_PLAIN, {"org": str(org_id)}, prepare=True)
        running = await conn.execute(
            _CLAIM, {"org": org_id, "ids": list(dict.fromkeys(incident_ids))}, prepare=True
        )
    ready = {r[0] for r in await running.fetchall()}
    answers: list[bool] = []
    for incident_id in incident_ids:
        answers.append(incident_id in ready)
        ready.discard(incident_id)  # claimed now: a second ask for it is refused
    return answers


_LOCK_PLAIN = _lock_sql("%(org)s")
# The asked incidents among those startable now move to running (the lock, taken by the
# statement before, makes the look at the free slots and the update one step).
_CLAIM = (
    "WITH ready AS ("  # noqa: S608 - the startable query is a constant
    + startable_sql("%(org)s")
    + ") UPDATE incidents SET ai_state = 'running' "
    "WHERE id = ANY(%(ids)s::uuid[]) AND id IN (SELECT id FROM ready) RETURNING id"
)


async def finish(
    session: AsyncSession, org_id: uuid.UUID, incident_id: uuid.UUID, state: AiState
) -> list[uuid.UUID]:
    """End a diagnosis; returns the queued incidents that may start now."""
    await session.execute(_LOCK, {"org": str(org_id)})
    incident = await session.get(Incident, incident_id)
    if incident is not None and incident.ai_state == AiState.RUNNING.value:
        incident.ai_state = state.value
    return await startable(session, org_id)


async def orgs_with_queue(session: AsyncSession) -> Sequence[uuid.UUID]:
    """Organisations with queued incidents (system session: the sweep crosses organisations)."""
    rows = await session.execute(
        text("SELECT DISTINCT org_id FROM incidents WHERE ai_state = 'queued'")
    )
    return [r[0] for r in rows]


async def end_quiet_storms(
    session: AsyncSession, now: datetime | None = None
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """End storms quiet for their org's quiet time; their incidents are queued for one
    diagnosis. Returns (org_id, incident_id) pairs. System session (a sweep)."""
    now = now or datetime.now(UTC)
    rows = (
        await session.execute(
            text(
                "SELECT s.id, s.org_id, s.incident_id, s.last_alert_at, "
                "coalesce(st.storm_quiet_s, 600), s.alerts "
                "FROM storms s LEFT JOIN incident_settings st ON st.org_id = s.org_id "
                "WHERE s.ended_at IS NULL FOR UPDATE OF s SKIP LOCKED"
            )
        )
    ).all()
    ended: list[tuple[uuid.UUID, uuid.UUID]] = []
    for storm_id, org_id, incident_id, last_alert_at, quiet_s, alerts in rows:
        if not storm_over(last_alert_at, now, timedelta(seconds=quiet_s)):
            continue
        await session.execute(
            text("UPDATE storms SET ended_at = :now WHERE id = :id"), {"now": now, "id": storm_id}
        )
        incident = await session.get(Incident, incident_id)
        if incident is None:
            continue
        detail = f"The storm has been quiet for {quiet_s // 60} min ({alerts} alerts in all)"
        if incident.ai_state == AiState.HELD.value:
            incident.ai_state = AiState.QUEUED.value
            incident.ai_queued_at = now
            detail += "; one diagnosis is queued for it"
            ended.append((org_id, incident_id))
        add_event(session, incident, "storm_ended", "system", detail)
        await notify_changed(session, org_id)
    return ended
