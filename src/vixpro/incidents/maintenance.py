"""Maintenance windows: alerts inside one are kept, marked suppressed, and start nothing."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.accounts import audit
from vixpro.accounts.errors import Forbidden, InvalidInput, NotFound
from vixpro.accounts.principal import Principal
from vixpro.core.incidents import Scope, Window, window_applies
from vixpro.core.roles import Role
from vixpro.db.models import Alert, Incident, MaintenanceWindow, Server
from vixpro.incidents.service import add_event, notify_changed

MAX_LENGTH = timedelta(days=31)


def as_window(row: MaintenanceWindow) -> Window:
    return Window(
        row.id,
        row.starts_at,
        row.ends_at,
        Scope(row.scope),
        frozenset(row.server_ids or ()),
        row.labels or {},
    )


def describe(row: MaintenanceWindow) -> str:
    return (
        f"Maintenance window {row.starts_at:%Y-%m-%d %H:%M} to {row.ends_at:%Y-%m-%d %H:%M} UTC: "
        f"{row.reason}"
    )


async def create(
    session: AsyncSession,
    principal: Principal,
    *,
    reason: str,
    starts_at: datetime,
    ends_at: datetime,
    scope: str,
    server_ids: Sequence[uuid.UUID] = (),
    labels: dict[str, str] | None = None,
) -> MaintenanceWindow:
    if not principal.role.at_least(Role.MEMBER):
        raise Forbidden("stakeholders cannot schedule maintenance")
    reason = reason.strip()
    if not reason or len(reason) > 1000:
        raise InvalidInput("reason", "must be 1 to 1000 characters")
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidInput("starts_at", "times need a time zone (e.g. 2026-01-01T10:00:00Z)")
    if ends_at <= starts_at:
        raise InvalidInput("ends_at", "must be after starts_at")
    if ends_at - starts_at > MAX_LENGTH:
        raise InvalidInput("ends_at", "a window lasts at most 31 days")
    if ends_at <= datetime.now(UTC):
        raise InvalidInput("ends_at", "is in the past")
    try:
        kind = Scope(scope)
    except ValueError:
        raise InvalidInput("scope", "must be 'all', 'servers' or 'labels'") from None
    labels = labels or {}
    if kind is Scope.SERVERS:
        if not server_ids:
            raise InvalidInput("server_ids", "name at least one server for scope 'servers'")
        found = set(
            (await session.scalars(select(Server.id).where(Server.id.in_(server_ids)))).all()
        )
        missing = [str(s) for s in server_ids if s not in found]
        if missing:
            raise InvalidInput("server_ids", f"unknown server(s): {', '.join(missing)}")
    if kind is Scope.LABELS and not labels:
        raise InvalidInput("labels", "give at least one label for scope 'labels'")
    row = MaintenanceWindow(
        org_id=principal.org_id,
        reason=reason,
        starts_at=starts_at,
        ends_at=ends_at,
        scope=kind.value,
        server_ids=list(server_ids) if kind is Scope.SERVERS else [],
        labels=labels if kind is Scope.LABELS else {},
        created_by=principal.label,
    )
    session.add(row)
    await session.flush()
    await _mark_open_incidents(session, row)
    await audit.record(
        session,
        principal.actor,
        "maintenance.created",
        org_id=principal.org_id,
        target_type="maintenance_window",
        target_id=row.id,
        details={
            "scope": row.scope,
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
        },
    )
    return row


async def _mark_open_incidents(session: AsyncSession, row: MaintenanceWindow) -> None:
    """Put the window on the timeline of the open incidents it covers (by server, by an
    alert's labels, or all) and wake live pages."""
    window = as_window(row)
    query = select(Incident).where(Incident.state != "resolved")
    if window.scope is Scope.SERVERS:
        query = query.where(Incident.server_id.in_(window.server_ids))
    elif window.scope is Scope.LABELS:
        labelled = select(Alert.incident_id).where(Alert.labels.contains(dict(window.labels or {})))
        query = query.where(Incident.id.in_(labelled))
    marked = 0
    for incident in (await session.scalars(query.limit(500))).all():
        add_event(session, incident, "maintenance", row.created_by, describe(row))
        marked += 1
    if marked:
        await notify_changed(session, row.org_id)


async def list_windows(
    session: AsyncSession, *, include_past: bool = False
) -> Sequence[MaintenanceWindow]:
    query = select(MaintenanceWindow).order_by(MaintenanceWindow.starts_at.desc()).limit(200)
    if not include_past:
        query = query.where(MaintenanceWindow.ends_at > datetime.now(UTC))
    return (await session.scalars(query)).all()


async def for_server(session: AsyncSession, server_id: uuid.UUID) -> list[MaintenanceWindow]:
    """Current and upcoming windows that cover a server (for its page)."""
    rows = await list_windows(session)
    return [
        row
        for row in rows
        if row.scope == Scope.ALL.value
        or (row.scope == Scope.SERVERS.value and server_id in (row.server_ids or []))
    ]


async def delete(session: AsyncSession, principal: Principal, window_id: uuid.UUID) -> None:
    if not principal.role.at_least(Role.MEMBER):
        raise Forbidden("stakeholders cannot change maintenance windows")
    row = await session.get(MaintenanceWindow, window_id)
    if row is None:
        raise NotFound("maintenance window")
    await session.delete(row)
    await audit.record(
        session,
        principal.actor,
        "maintenance.deleted",
        org_id=principal.org_id,
        target_type="maintenance_window",
        target_id=window_id,
    )


def applies_now(
    row: MaintenanceWindow, server_id: uuid.UUID | None, labels: dict[str, str]
) -> bool:
    return window_applies(as_window(row), datetime.now(UTC), server_id, labels)
