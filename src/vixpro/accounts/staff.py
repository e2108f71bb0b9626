"""The platform staff console's reads and writes. All cross-org, all audited."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.accounts import audit, orgs, plans
from vixpro.accounts.errors import Conflict, NotFound
from vixpro.accounts.principal import Actor
from vixpro.accounts.secrets import hash_password
from vixpro.accounts.validation import clean_email
from vixpro.core.plans import PlanLimits
from vixpro.db.models import Membership, Organisation, User


@dataclass(frozen=True)
class OrgSummary:
    id: uuid.UUID
    name: str
    plan_code: str
    members: int


@dataclass(frozen=True)
class OrgDetail:
    org: OrgSummary
    plan: PlanLimits
    people: list[tuple[str, str]]  # (email, role)


async def list_orgs(session: AsyncSession, actor: Actor) -> list[OrgSummary]:
    rows = await orgs.list_all(session)
    await audit.record(
        session, actor, "staff.orgs_listed", org_id=None, details={"count": len(rows)}
    )
    return [OrgSummary(o.id, o.name, o.plan_code, n) for o, n in rows]


async def org_detail(session: AsyncSession, actor: Actor, org_id: uuid.UUID) -> OrgDetail:
    org = await orgs.get(session, org_id)
    people = (
        await session.execute(
            select(User.email, Membership.role)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.org_id == org_id)
            .order_by(User.email)
        )
    ).all()
    plan = await plans.org_plan(session, org_id)
    await audit.record(
        session,
        actor,
        "staff.org_viewed",
        org_id=org_id,
        target_type="organisation",
        target_id=org_id,
    )
    return OrgDetail(
        OrgSummary(org.id, org.name, org.plan_code, len(people)),
        plan,
        [(email, role) for email, role in people],
    )


async def set_org_plan(
    session: AsyncSession, actor: Actor, org_id: uuid.UUID, plan_code: str
) -> None:
    org = await session.get(Organisation, org_id)
    if org is None:
        raise NotFound("organisation")
    await orgs.set_plan(session, actor, org, plan_code)


async def create_staff(
    session: AsyncSession, actor: Actor, email_text: str, password: str | None
) -> tuple[uuid.UUID, bool]:
    """Make a platform staff account, or promote an existing user. Returns (user id, created)."""
    email = clean_email(email_text)
    user = await session.scalar(select(User).where(User.email == email))
    created = user is None
    if user is None:
        if password is None:
            raise Conflict("a password is needed for a new staff account")
        user = User(email=email, password_hash=hash_password(password), is_staff=True)
        session.add(user)
    elif user.is_staff:
        raise Conflict(f"{email} is already platform staff")
    user.is_staff = True
    await session.flush()
    await audit.record(
        session,
        actor,
        "staff.created",
        org_id=None,
        target_type="user",
        target_id=user.id,
        details={"email": email, "new_account": created},
    )
    return user.id, created
