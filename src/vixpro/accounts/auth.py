"""Signing in, login sessions and API-key authentication.

These run in the system session: who a caller is (and so which organisation they act in) is
not known until the lookup is done.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.accounts import audit
from vixpro.accounts.errors import Throttled
from vixpro.accounts.plans import limits_of
from vixpro.accounts.principal import Actor, Principal
from vixpro.accounts.secrets import new_token, split_api_key, token_hash, verify_password
from vixpro.core.plans import PlanLimits
from vixpro.core.roles import Role
from vixpro.db.models import (
    LoginFailure,
    LoginSession,
    Membership,
    Organisation,
    Plan,
    User,
)

BAD_LOGIN = "email or password is incorrect"
PLAN_FIELDS = tuple(PlanLimits.__dataclass_fields__)


@dataclass(frozen=True)
class LoginPolicy:
    max_per_email: int
    max_per_ip: int
    window: timedelta
    session_ttl: timedelta


@dataclass(frozen=True)
class NewLogin:
    token: str
    user_id: uuid.UUID
    expires_at: datetime


class BadCredentials(Exception):
    def __init__(self) -> None:
        super().__init__(BAD_LOGIN)


def _window_start(now: datetime, window: timedelta) -> datetime:
    seconds = window.total_seconds()
    return datetime.fromtimestamp(now.timestamp() // seconds * seconds, UTC)


async def _failures(session: AsyncSession, keys: list[str], start: datetime) -> dict[str, int]:
    rows = await session.execute(
        select(LoginFailure.key, LoginFailure.count).where(
            LoginFailure.key.in_(keys), LoginFailure.window_start == start
        )
    )
    return {key: int(count) for key, count in rows.all()}


async def _count_failure(session: AsyncSession, keys: list[str], start: datetime) -> None:
    for key in keys:
        statement = insert(LoginFailure).values(key=key, window_start=start, count=1)
        statement = statement.on_conflict_do_update(
            index_elements=[LoginFailure.key, LoginFailure.window_start],
            set_={"count": LoginFailure.count + 1},
        )
        await session.execute(statement)


async def login(
    session: AsyncSession,
    policy: LoginPolicy,
    email: str,
    password: str,
    ip: str | None,
    user_agent: str | None = None,
) -> NewLogin:
    """Check a password, throttled per address and per IP; raise the same error for any mismatch."""
    email = email.strip().lower()
    now = datetime.now(UTC)
    start = _window_start(now, policy.window)
    email_key, ip_key = f"email:{email}", f"ip:{ip or 'unknown'}"
    seen = await _failures(session, [email_key, ip_key], start)
    if seen.get(email_key, 0) >= policy.max_per_email or seen.get(ip_key, 0) >= policy.max_per_ip:
        retry = int((start + policy.window - now).total_seconds()) + 1
        raise Throttled("too many failed sign-in attempts; try again later", retry)
    user = await session.scalar(select(User).where(User.email == email))
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        await _count_failure(session, [email_key, ip_key], start)
        await audit.record(
            session,
            Actor("user", user.id if user else None, email, ip),
            "login.failed",
            org_id=None,
            details={"email": email},
        )
        raise BadCredentials
    await session.execute(delete(LoginFailure).where(LoginFailure.key == email_key))
    first_org = await session.scalar(
        select(Membership.org_id)
        .where(Membership.user_id == user.id)
        .order_by(Membership.created_at)
    )
    token = new_token()
    expires = now + policy.session_ttl
    session.add(
        LoginSession(
            token_hash=token_hash(token),
            user_id=user.id,
            current_org=first_org,
            csrf_token=new_token(),
            ip=ip,
            user_agent=(user_agent or "")[:256],
            expires_at=expires,
        )
    )
    user.last_login_at = now
    await audit.record(session, Actor("user", user.id, email, ip), "login.succeeded", org_id=None)
    return NewLogin(token, user.id, expires)


@dataclass(frozen=True)
class Membership_:
    org_id: uuid.UUID
    org_name: str
    role: Role


@dataclass(frozen=True)
class SignedIn:
    """A valid dashboard session: the user, their organisations, and the one they act in."""

    session_id: uuid.UUID
    user_id: uuid.UUID
    email: str
    display_name: str
    is_staff: bool
    csrf_token: str
    memberships: tuple[Membership_, ...]
    principal: Principal | None  # None when the user belongs to no organisation (staff only)


async def resolve_session(session: AsyncSession, token: str, ip: str | None) -> SignedIn | None:
    row = (
        await session.execute(
            select(LoginSession, User)
            .join(User, User.id == LoginSession.user_id)
            .where(
                LoginSession.token_hash == token_hash(token),
                LoginSession.expires_at > func.now(),
                User.is_active.is_(True),
            )
        )
    ).first()
    if row is None:
        return None
    login_session, user = row[0], row[1]
    rows = await session.execute(
        select(Membership.role, Organisation, Plan)
        .join(Organisation, Organisation.id == Membership.org_id)
        .join(Plan, Plan.code == Organisation.plan_code)
        .where(Membership.user_id == user.id)
        .order_by(Organisation.name)
    )
    memberships: list[Membership_] = []
    principal: Principal | None = None
    for role, org, plan in rows.all():
        memberships.append(Membership_(org.id, org.name, Role(role)))
        if principal is None or org.id == login_session.current_org:
            principal = Principal(
                kind="user",
                org_id=org.id,
                org_name=org.name,
                role=Role(role),
                plan=limits_of(plan),
                label=user.email,
                user_id=user.id,
                is_staff=user.is_staff,
                ip=ip,
            )
    if (datetime.now(UTC) - login_session.last_seen_at) > timedelta(minutes=1):
        login_session.last_seen_at = datetime.now(UTC)
    return SignedIn(
        session_id=login_session.id,
        user_id=user.id,
        email=user.email,
        display_name=user.display_name,
        is_staff=user.is_staff,
        csrf_token=login_session.csrf_token,
        memberships=tuple(memberships),
        principal=principal,
    )


async def switch_org(session: AsyncSession, signed_in: SignedIn, org_id: uuid.UUID) -> bool:
    if not any(m.org_id == org_id for m in signed_in.memberships):
        return False
    await session.execute(
        update(LoginSession)
        .where(LoginSession.id == signed_in.session_id)
        .values(current_org=org_id)
    )
    return True


async def logout(session: AsyncSession, token: str) -> None:
    await session.execute(delete(LoginSession).where(LoginSession.token_hash == token_hash(token)))


_API_KEY = """
WITH key AS (
    SELECT k.id, k.org_id, k.name AS key_name, k.prefix, k.role, o.name AS org_name,
           p.code, p.name, p.price_cents, p.billing, p.max_servers, p.max_team_members,
           p.max_stakeholders, p.alert_triage, p.auto_remediation, p.priority_support,
           p.api_requests_per_hour, p.alert_budget_per_server_day,
           p.max_concurrent_reactive_agents,
           k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute' AS stale
    FROM api_keys k
    JOIN organisations o ON o.id = k.org_id
    JOIN plans p ON p.code = o.plan_code
    WHERE k.prefix = %(prefix)s AND k.key_hash = %(hash)s AND k.revoked_at IS NULL
), touched AS (
    UPDATE api_keys SET last_used_at = now() WHERE id = (SELECT id FROM key WHERE stale)
)
SELECT * FROM key
"""


async def authenticate_api_key(
    conn: psycopg.AsyncConnection[Any], key: str, ip: str | None
) -> Principal | None:
    """Check an API key in one statement (it also notes, once a minute, that the key was used)."""
    parts = split_api_key(key)
    if parts is None:
        return None
    prefix, secret = parts
    async with conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(_API_KEY, {"prefix": prefix, "hash": token_hash(secret)})
        row = await cursor.fetchone()
    if row is None:
        return None
    plan = PlanLimits(**{name: row[name] for name in PLAN_FIELDS})
    return Principal(
        kind="api_key",
        org_id=row["org_id"],
        org_name=row["org_name"],
        role=Role(row["role"]),
        plan=plan,
        label=f"API key {row['key_name']} ({row['prefix']})",
        api_key_id=row["id"],
        ip=ip,
    )
