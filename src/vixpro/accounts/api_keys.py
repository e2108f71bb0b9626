"""API keys: created by admins for scripts, stored hashed, shown once, revocable."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.accounts import audit
from vixpro.accounts.errors import Conflict, Forbidden, NotFound
from vixpro.accounts.principal import Actor
from vixpro.accounts.secrets import new_api_key
from vixpro.accounts.validation import clean_name, clean_role
from vixpro.core.pagination import Cursor
from vixpro.core.roles import API_KEY_ROLES, Role
from vixpro.db.models import ApiKey
from vixpro.db.paging import keyset


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    secret: str  # the whole key: shown once


async def create(
    session: AsyncSession,
    actor: Actor,
    org_id: uuid.UUID,
    *,
    name: str,
    role_text: str,
    actor_role: Role | None = None,
    created_by: uuid.UUID | None = None,
) -> IssuedKey:
    """``actor_role`` is the caller's role in the org (None for the CLI, which is trusted)."""
    role = clean_role(role_text, allowed=API_KEY_ROLES)
    if actor_role is not None:
        if not actor_role.at_least(Role.ADMIN):
            raise Forbidden("only owners and admins create API keys")
        if not actor_role.may_grant(role):
            raise Forbidden(f"a {actor_role.value} cannot create an {role.value} key")
    secret, prefix, digest = new_api_key()
    key = ApiKey(
        org_id=org_id,
        name=clean_name(name),
        role=role.value,
        prefix=prefix,
        key_hash=digest,
        created_by=created_by,
    )
    session.add(key)
    await session.flush()
    await audit.record(
        session,
        actor,
        "api_key.created",
        org_id=org_id,
        target_type="api_key",
        target_id=key.id,
        details={"name": key.name, "role": role, "prefix": prefix},
    )
    return IssuedKey(key, secret)


async def list_keys(
    session: AsyncSession, *, limit: int = 100, cursor: Cursor | None = None
) -> Sequence[ApiKey]:
    query = keyset(select(ApiKey), ApiKey.created_at, ApiKey.id, cursor, limit)
    return (await session.scalars(query)).all()


async def get_key(session: AsyncSession, key_id: uuid.UUID) -> ApiKey:
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise NotFound("API key")
    return key


async def revoke(
    session: AsyncSession, actor: Actor, actor_role: Role, org_id: uuid.UUID, key_id: uuid.UUID
) -> ApiKey:
    if not actor_role.at_least(Role.ADMIN):
        raise Forbidden("only owners and admins revoke API keys")
    key = await get_key(session, key_id)
    if key.revoked_at is not None:
        raise Conflict("this API key is already revoked")
    key.revoked_at = datetime.now(UTC)
    await session.flush()
    await audit.record(
        session,
        actor,
        "api_key.revoked",
        org_id=org_id,
        target_type="api_key",
        target_id=key.id,
        details={"name": key.name, "prefix": key.prefix},
    )
    return key
