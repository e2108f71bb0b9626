"""Organisations: created by an operator (CLI) or the first start, renamed by owners."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.accounts import audit, plans
from vixpro.accounts.errors import Conflict, InvalidInput, NotFound
from vixpro.accounts.principal import Actor
from vixpro.accounts.secrets import hash_password
from vixpro.accounts.validation import clean_email, clean_name
from vixpro.core.roles import Role
from vixpro.db.models import Membership, Organisation, User


@dataclass(frozen=True)
class CreatedOrg:
    org_id: uuid.UUID
    owner_id: uuid.UUID
    owner_created: bool


async def create_org(
    session: AsyncSession,
    actor: Actor,
    *,
    name: str,
    plan_code: str,
    owner_email: str,
    owner_password: str | None,
    owner_is_staff: bool = False,
) -> CreatedOrg:
    """Create an organisation and its owner (system session: it spans users and orgs).

    An existing user becomes the owner as they are; a new one is created with
    ``owner_password`` (already checked by the caller).
    """
    name = clean_name(name)
    email = clean_email(owner_email, "owner")
    await plans.get_plan(session, plan_code)
    if await session.scalar(select(Organisation.id).where(Organisation.name == name)):
        raise Conflict(f"an organisation named {name!r} already exists")
    user = await session.scalar(select(User).where(User.email == email))
    created = user is None
    if user is None:
        if owner_password is None:
            raise InvalidInput("password", "is required for a new owner")
        user = User(
            email=email, password_hash=hash_password(owner_password), is_staff=owner_is_staff
        )
        session.add(user)
    org = Organisation(name=name, plan_code=plan_code)
    session.add(org)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"an organisation named {name!r} already exists") from exc
    session.add(Membership(org_id=org.id, user_id=user.id, role=Role.OWNER.value))
    await session.flush()
    await audit.record(
        session,
        actor,
        "org.created",
        org_id=org.id,
        target_type="organisation",
        target_id=org.id,
        details={"name": name, "plan": plan_code, "owner": email},
    )
    return CreatedOrg(org.id, user.id, created)


async def find_by_name(session: AsyncSession, name: str) -> Organisation:
    org = await session.scalar(select(Organisation).where(Organisation.name == name.strip()))
    if org is None:
        raise NotFound(f"organisation {name!r}")
    return org


async def get(session: AsyncSession, org_id: uuid.UUID) -> Organisation:
    org = await session.get(Organisation, org_id)
    if org is None:
        raise NotFound("organisation")
    return org


async def rename(session: AsyncSession, actor: Actor, org_id: uuid.UUID, name: str) -> Organisation:
    org = await get(session, org_id)
    new_name = clean_name(name)
    if new_name == org.name:
        return org
    old = org.name
    org.name = new_name
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"an organisation named {new_name!r} already exists") from exc
    await audit.record(
        session,
        actor,
        "org.renamed",
        org_id=org_id,
        target_type="organisation",
        target_id=org_id,
        details={"from": old, "to": new_name},
    )
    return org


async def set_plan(session: AsyncSession, actor: Actor, org: Organisation, plan_code: str) -> None:
    """Staff or the CLI move an organisation to another plan (system session)."""
    await plans.get_plan(session, plan_code)
    old = org.plan_code
    org.plan_code = plan_code
    await session.flush()
    await audit.record(
        session,
        actor,
        "org.plan_changed",
        org_id=org.id,
        target_type="organisation",
        target_id=org.id,
        details={"from": old, "to": plan_code},
    )


async def count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Organisation)) or 0)


async def list_all(session: AsyncSession) -> Sequence[tuple[Organisation, int]]:
    """Every organisation with its member count (staff console, system session)."""
    members = (
        select(Membership.org_id, func.count().label("n")).group_by(Membership.org_id).subquery()
    )
    rows = await session.execute(
        select(Organisation, func.coalesce(members.c.n, 0))
        .outerjoin(members, members.c.org_id == Organisation.id)
        .order_by(Organisation.name)
    )
    return [(org, int(n)) for org, n in rows.all()]
