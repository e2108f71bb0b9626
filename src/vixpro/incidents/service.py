"""Incidents for people: list and filter, read with alerts and timeline, and act on them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.accounts import audit
from vixpro.accounts.errors import Conflict, Forbidden, InvalidInput, NotFound
from vixpro.accounts.principal import Principal
from vixpro.core.incidents import Action, InvalidTransition, State, transition
from vixpro.core.pagination import Cursor
from vixpro.core.roles import Role
from vixpro.db.models import Alert, Diagnosis, Incident, IncidentEvent, Membership, OrgEvent
from vixpro.db.paging import keyset
from vixpro.incidents.ingest import NOTIFY_CHANNEL

MAX_COMMENT = 10_000


@dataclass(frozen=True, slots=True)
class Filters:
    state: str | None = None
    severity: str | None = None
    server_id: uuid.UUID | None = None
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    manual: bool | None = None


async def notify_changed(session: AsyncSession, org_id: uuid.UUID) -> None:
    """Wake live incident lists (SSE) in every replica once this transaction commits."""
    await session.execute(
        text("SELECT pg_notify(:channel, :org)"), {"channel": NOTIFY_CHANNEL, "org": str(org_id)}
    )


async def list_incidents(
    session: AsyncSession, filters: Filters, cursor: Cursor | None, limit: int
) -> Sequence[Incident]:
    query = select(Incident)
    if filters.state == "active":
        query = query.where(Incident.state != State.RESOLVED.value)
    elif filters.state:
        query = query.where(Incident.state == filters.state)
    if filters.severity:
        query = query.where(Incident.severity == filters.severity)
    if filters.server_id:
        query = query.where(Incident.server_id == filters.server_id)
    if filters.source:
        query = query.where(Incident.source == filters.source)
    if filters.since:
        query = query.where(Incident.created_at >= filters.since)
    if filters.until:
        query = query.where(Incident.created_at < filters.until)
    if filters.manual is not None:
        query = query.where(Incident.manual_mode.is_(filters.manual))
    query = keyset(query, Incident.created_at, Incident.id, cursor, limit, newest_first=True)
    return (await session.scalars(query)).all()


async def get_incident(session: AsyncSession, incident_id: uuid.UUID) -> Incident:
    incident = await session.get(Incident, incident_id)
    if incident is None:
        raise NotFound("incident")
    return incident


async def incident_alerts(session: AsyncSession, incident_id: uuid.UUID) -> Sequence[Alert]:
    query = (
        select(Alert)
        .where(Alert.incident_id == incident_id)
        .order_by(Alert.first_seen_at, Alert.id)
        .limit(500)
    )
    return (await session.scalars(query)).all()


async def timeline(
    session: AsyncSession, incident_id: uuid.UUID, after: int = 0, limit: int = 500
) -> Sequence[IncidentEvent]:
    query = (
        select(IncidentEvent)
        .where(IncidentEvent.incident_id == incident_id, IncidentEvent.id > after)
        .order_by(IncidentEvent.id)
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def latest_diagnosis(session: AsyncSession, incident_id: uuid.UUID) -> Diagnosis | None:
    query = (
        select(Diagnosis)
        .where(Diagnosis.incident_id == incident_id)
        .order_by(Diagnosis.completed_at.desc())
        .limit(1)
    )
    return (await session.scalars(query)).first()


async def get_alert(session: AsyncSession, alert_id: uuid.UUID) -> Alert:
    alert = await session.get(Alert, alert_id)
    if alert is None:
        raise NotFound("alert")
    return alert


def _require_writer(principal: Principal) -> None:
    if not principal.role.at_least(Role.MEMBER):
        raise Forbidden("stakeholders can read incidents but not change them")


def add_event(
    session: AsyncSession,
    incident: Incident,
    kind: str,
    actor: str,
    detail: str,
    data: dict[str, object] | None = None,
) -> None:
    session.add(
        IncidentEvent(
            org_id=incident.org_id,
            incident_id=incident.id,
            kind=kind,
            actor=actor,
            detail=detail,
            data=data or {},
        )
    )


async def act(
    session: AsyncSession,
    principal: Principal,
    incident_id: uuid.UUID,
    action: Action,
    note: str | None = None,
) -> Incident:
    """Acknowledge, resolve or reopen, with the transition rules of ``core.incidents``."""
    _require_writer(principal)
    incident = await _locked(session, incident_id)
    try:
        new_state = transition(State(incident.state), action)
    except InvalidTransition as exc:
        raise Conflict(str(exc)) from exc
    now = datetime.now(UTC)
    incident.state = new_state.value
    incident.updated_at = now
    if action is Action.ACKNOWLEDGE:
        incident.acknowledged_at = now
        incident.acknowledged_by = principal.label
    elif action is Action.RESOLVE:
        incident.resolved_at = now
        incident.resolved_by = principal.label
    else:
        incident.reopened += 1
        incident.resolved_at = None
        incident.resolved_by = None
        incident.acknowledged_at = None
        incident.acknowledged_by = None
    detail = f"{new_state.value.capitalize()} by {principal.label}"
    if note:
        detail += f": {note[:MAX_COMMENT]}"
    add_event(
        session,
        incident,
        new_state.value if action is not Action.REOPEN else "reopened",
        principal.label,
        detail,
    )
    await audit.record(
        session,
        principal.actor,
        f"incident.{action.value}",
        org_id=principal.org_id,
        target_type="incident",
        target_id=incident.id,
    )
    await notify_changed(session, principal.org_id)
    return incident


async def assign(
    session: AsyncSession, principal: Principal, incident_id: uuid.UUID, user_id: uuid.UUID | None
) -> Incident:
    _require_writer(principal)
    incident = await _locked(session, incident_id)
    label = "nobody"
    if user_id is not None:
        member = (
            await session.execute(
                select(Membership).where(
                    Membership.org_id == principal.org_id, Membership.user_id == user_id
                )
            )
        ).scalar_one_or_none()
        if member is None:
            raise InvalidInput("assignee_id", "is not a member of this organisation")
        if member.role == Role.STAKEHOLDER.value:
            raise InvalidInput("assignee_id", "stakeholders cannot be assigned incidents")
        label = await _user_email(session, user_id)
    incident.assignee_id = user_id
    incident.updated_at = datetime.now(UTC)
    add_event(session, incident, "assigned", principal.label, f"Assigned to {label}")
    await audit.record(
        session,
        principal.actor,
        "incident.assigned",
        org_id=principal.org_id,
        target_type="incident",
        target_id=incident.id,
        details={"assignee_id": str(user_id) if user_id else None},
    )
    await notify_changed(session, principal.org_id)
    return incident


async def comment(
    session: AsyncSession, principal: Principal, incident_id: uuid.UUID, body: str
) -> IncidentEvent:
    _require_writer(principal)
    body = body.strip()
    if not body:
        raise InvalidInput("body", "a comment cannot be empty")
    if len(body) > MAX_COMMENT:
        raise InvalidInput("body", f"at most {MAX_COMMENT} characters")
    incident = await get_incident(session, incident_id)
    event = IncidentEvent(
        org_id=incident.org_id,
        incident_id=incident.id,
        kind="comment",
        actor=principal.label,
        detail=body,
        data={},
    )
    session.add(event)
    incident.updated_at = datetime.now(UTC)
    await session.flush()
    await audit.record(
        session,
        principal.actor,
        "incident.commented",
        org_id=principal.org_id,
        target_type="incident",
        target_id=incident.id,
    )
    await notify_changed(session, principal.org_id)
    return event


async def _locked(session: AsyncSession, incident_id: uuid.UUID) -> Incident:
    incident = (
        await session.execute(select(Incident).where(Incident.id == incident_id).with_for_update())
    ).scalar_one_or_none()
    if incident is None:
        raise NotFound("incident")
    return incident


async def _user_email(session: AsyncSession, user_id: uuid.UUID) -> str:
    row = (
        await session.execute(text("SELECT email FROM users WHERE id = :id"), {"id": user_id})
    ).first()
    return str(row[0]) if row else str(user_id)


async def org_events(session: AsyncSession, limit: int = 50) -> Sequence[OrgEvent]:
    query = select(OrgEvent).order_by(OrgEvent.at.desc(), OrgEvent.id.desc()).limit(limit)
    return (await session.scalars(query)).all()


async def counts(session: AsyncSession) -> dict[str, int]:
    rows = (
        await session.execute(select(Incident.state, func.count()).group_by(Incident.state))
    ).all()
    return {str(state): int(n) for state, n in rows}
