"""Invitations: an admin invites an email with a role; the link lets that person join."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.accounts import audit, seats
from vixpro.accounts.errors import Conflict, Forbidden, InvalidInput, NotFound
from vixpro.accounts.plans import org_plan
from vixpro.accounts.principal import Actor, Principal
from vixpro.accounts.secrets import hash_password, new_token, token_hash
from vixpro.accounts.validation import clean_email, clean_password, clean_role
from vixpro.core.pagination import Cursor
from vixpro.core.roles import Role
from vixpro.db.models import Invitation, Membership, Organisation, User
from vixpro.db.paging import keyset


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    token: str  # shown once, in the accept link


async def invite(
    session: AsyncSession, actor: Principal, email_text: str, role_text: str, ttl: timedelta
) -> IssuedInvitation:
    if not actor.role.at_least(Role.ADMIN):
        raise Forbidden("only owners and admins invite people")
    email = clean_email(email_text)
    role = clean_role(role_text)
    if not actor.role.may_grant(role):
        raise Forbidden(f"a {actor.role.value} cannot invite an {role.value}")
    already = await session.scalar(
        select(Membership.id).join(User, User.id == Membership.user_id).where(User.email == email)
    )
    if already:
        raise Conflict(f"{email} is already a member")
    pending = await session.scalar(
        select(Invitation.id).where(
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.expires_at > datetime.now(UTC),
        )
    )
    if pending:
        raise Conflict(f"{email} already has a pending invitation; revoke it to send a new one")
    await seats.check_seat(session, actor.plan, role)
    token = new_token()
    invitation = Invitation(
        org_id=actor.org_id,
        email=email,
        role=role.value,
        token_hash=token_hash(token),
        invited_by=actor.user_id,
        expires_at=datetime.now(UTC) + ttl,
    )
    session.add(invitation)
    await session.flush()
    await audit.record(
        session,
        actor.actor,
        "invitation.created",
        org_id=actor.org_id,
        target_type="invitation",
        target_id=invitation.id,
        details={"email": email, "role": role},
    )
    return IssuedInvitation(invitation, token)


async def list_invitations(
    session: AsyncSession,
    *,
    limit: int = 100,
    cursor: Cursor | None = None,
    pending_only: bool = True,
) -> Sequence[Invitation]:
    query = keyset(select(Invitation), Invitation.created_at, Invitation.id, cursor, limit)
    if pending_only:
        query = query.where(Invitation.accepted_at.is_(None))
    return (await session.scalars(query)).all()


async def revoke(session: AsyncSession, actor: Principal, invitation_id: uuid.UUID) -> None:
    if not actor.role.at_least(Role.ADMIN):
        raise Forbidden("only owners and admins revoke invitations")
    invitation = await session.get(Invitation, invitation_id)
    if invitation is None:
        raise NotFound("invitation")
    if invitation.accepted_at is not None:
        raise Conflict("this invitation was already accepted")
    await session.delete(invitation)
    await session.flush()
    await audit.record(
        session,
        actor.actor,
        "invitation.revoked",
        org_id=actor.org_id,
        target_type="invitation",
        target_id=invitation_id,
        details={"email": invitation.email},
    )


@dataclass(frozen=True)
class PendingInvitation:
    invitation: Invitation
    org_name: str
    user_exists: bool


async def find_by_token(session: AsyncSession, token: str) -> PendingInvitation:
    """Look an invitation up by its token (system session: the org is not known yet)."""
    row = (
        await session.execute(
            select(Invitation, Organisation.name)
            .join(Organisation, Organisation.id == Invitation.org_id)
            .where(Invitation.token_hash == token_hash(token))
        )
    ).first()
    if row is None or row[0].accepted_at is not None or row[0].expires_at <= datetime.now(UTC):
        raise NotFound("invitation (it may have expired or been used)")
    exists = await session.scalar(select(User.id).where(User.email == row[0].email))
    return PendingInvitation(row[0], row[1], exists is not None)


async def accept(
    session: AsyncSession,
    token: str,
    *,
    password: str | None,
    display_name: str = "",
    signed_in_user: uuid.UUID | None = None,
    ip: str | None = None,
) -> tuple[uuid.UUID, uuid.UUID]:
    """Join the organisation (system session). Returns (user id, org id).

    A new person sets a password here; someone who already has an account must be signed in
    as that account.
    """
    pending = await find_by_token(session, token)
    invitation = pending.invitation
    user = await session.scalar(select(User).where(User.email == invitation.email))
    if user is None:
        if password is None:
            raise InvalidInput("password", "is required to create your account")
        user = User(
            email=invitation.email,
            password_hash=hash_password(clean_password(password)),
            display_name=display_name.strip()[:100],
        )
        session.add(user)
        await session.flush()
    elif signed_in_user != user.id:
        raise Forbidden(f"sign in as {invitation.email} to accept this invitation")
    plan = await org_plan(session, invitation.org_id)
    await seats.check_seat(
        session, plan, Role(invitation.role), include_pending=False, org_id=invitation.org_id
    )
    session.add(Membership(org_id=invitation.org_id, user_id=user.id, role=invitation.role))
    invitation.accepted_at = datetime.now(UTC)
    await session.flush()
    await audit.record(
        session,
        Actor("user", user.id, user.email, ip),
        "invitation.accepted",
        org_id=invitation.org_id,
        target_type="invitation",
        target_id=invitation.id,
        details={"role": invitation.role},
    )
    return user.id, invitation.org_id
