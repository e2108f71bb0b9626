"""Team-member and stakeholder seats: counted per organisation, checked on invite and accept."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.core.plans import Limit, PlanLimits, check_limit
from vixpro.core.roles import Role
from vixpro.db.models import Invitation, Membership


async def seat_usage(
    session: AsyncSession, *, include_pending: bool = True, org_id: uuid.UUID | None = None
) -> tuple[int, int]:
    """(team members, stakeholders) of the tenant session's organisation (or ``org_id``'s, in a
    system session).

    Pending invitations hold a seat, so that inviting cannot promise more seats than the plan has.
    """
    counts: dict[Role, int] = {}
    members = select(Membership.role, func.count()).group_by(Membership.role)
    if org_id is not None:
        members = members.where(Membership.org_id == org_id)
    rows = (await session.execute(members)).all()
    for role, n in rows:
        counts[Role(role)] = int(n)
    if include_pending:
        pending = await session.execute(
            select(Invitation.role, func.count())
            .where(Invitation.accepted_at.is_(None), Invitation.expires_at > func.now())
            .where(Invitation.org_id == org_id if org_id is not None else true())
            .group_by(Invitation.role)
        )
        for role, n in pending.all():
            counts[Role(role)] = counts.get(Role(role), 0) + int(n)
    stakeholders = counts.get(Role.STAKEHOLDER, 0)
    team = sum(n for role, n in counts.items() if role.counts_as_team_member)
    return team, stakeholders


async def check_seat(
    session: AsyncSession,
    plan: PlanLimits,
    role: Role,
    *,
    include_pending: bool = True,
    org_id: uuid.UUID | None = None,
) -> None:
    team, stakeholders = await seat_usage(session, include_pending=include_pending, org_id=org_id)
    if role.counts_as_team_member:
        check_limit(plan, Limit.TEAM_MEMBERS, team)
    else:
        check_limit(plan, Limit.STAKEHOLDER_SEATS, stakeholders)
