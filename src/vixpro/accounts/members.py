"""The people of an organisation: list, change role, remove."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.accounts import audit, seats
from vixpro.accounts.errors import Conflict, Forbidden, NotFound
from vixpro.accounts.principal import Principal
from vixpro.accounts.validation import clean_role
from vixpro.core.pagination import Cursor
from vixpro.core.roles import Role
from vixpro.db.models import Membership, User
from vixpro.db.paging import keyset


async def list_members(
    session: AsyncSession, *, limit: int = 100, cursor: Cursor | None = None
) -> Sequence[tuple[Membership, User]]:
    joined = select(Membership, User).join(User, User.id == Membership.user_id)
    query = keyset(joined, Membership.created_at, Membership.id, cursor, limit)
    return [(m, u) for m, u in (await session.execute(query)).all()]


async def get_member(session: AsyncSession, membership_id: uuid.UUID) -> tuple[Membership, User]:
    row = (
        await session.execute(
            select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.id == membership_id)
        )
    ).first()
    if row is None:
        raise NotFound("member")
    return row[0], row[1]


async def _owner_count(session: AsyncSession) -> int:
    query = select(func.count()).where(Membership.role == Role.OWNER.value)
    return int(await session.scalar(query) or 0)


def _may_manage(actor: Principal, target_role: Role) -> None:
    if not actor.role.at_least(Role.ADMIN):
        raise Forbidden("only owners and admins manage the team")
    if target_role is Role.OWNER and actor.role is not Role.OWNER:
        raise Forbidden("only an owner can change or remove an owner")


async def change_role(
    session: AsyncSession, actor: Principal, membership_id: uuid.UUID, role_text: str
) -> Membership:
    membership, user = await get_member(session, membership_id)
    new_role = clean_role(role_text)
    old_role = Role(membership.role)
    _may_manage(actor, old_role)
    if not actor.role.may_grant(new_role):
        raise Forbidden(f"a {actor.role.value} cannot grant the {new_role.value} role")
    if old_role is new_role:
        return membership
    if old_role is Role.OWNER and await _owner_count(session) == 1:
        raise Conflict("an organisation needs at least one owner")
    if old_role.counts_as_team_member != new_role.counts_as_team_member:
        await seats.check_seat(session, actor.plan, new_role)
    membership.role = new_role.value
    await session.flush()
    await audit.record(
        session,
        actor.actor,
        "member.role_changed",
        org_id=actor.org_id,
        target_type="member",
        target_id=membership.id,
        details={"email": user.email, "from": old_role, "to": new_role},
    )
    return membership


async def remove(session: AsyncSession, actor: Principal, membership_id: uuid.UUID) -> None:
    membership, user = await get_member(session, membership_id)
    role = Role(membership.role)
    if membership.user_id != actor.user_id:
        _may_manage(actor, role)
    if role is Role.OWNER and await _owner_count(session) == 1:
        raise Conflict("an organisation needs at least one owner")
    await session.delete(membership)
    await session.flush()
    await audit.record(
        session,
        actor.actor,
        "member.removed",
        org_id=actor.org_id,
        target_type="member",
        target_id=membership.id,
        details={"email": user.email, "role": role},
    )
