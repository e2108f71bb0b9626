"""Integrations: one monitoring tool's webhook into one organisation, with a secret URL token."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import secrets
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vixpro.accounts import audit
from vixpro.accounts.errors import Forbidden, InvalidInput, NotFound
from vixpro.accounts.principal import Actor, Principal
from vixpro.core.alerts import NormalizedAlert
from vixpro.core.roles import Role
from vixpro.db.models import Integration
from vixpro.ingest import generic
from vixpro.ingest.base import IntegrationConfig, WebhookRequest
from vixpro.ingest.registry import ADAPTERS
from vixpro.sealed import seal, unseal

TOKEN_PREFIX = "vxw_"  # noqa: S105 - a prefix, not a secret


@functools.lru_cache(maxsize=4096)  # a webhook flood hashes the same few tokens
def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _context(integration_id: uuid.UUID, what: str) -> bytes:
    return f"integration:{integration_id}:{what}".encode()


@dataclass(frozen=True, slots=True)
class IntegrationView:
    id: uuid.UUID
    source: str
    source_title: str
    name: str
    token: str
    has_signing_secret: bool
    options: dict[str, Any]
    enabled: bool
    alerts_received: int
    last_alert_at: Any
    created_at: Any


def view(row: Integration, master_key: bytes) -> IntegrationView:
    token = unseal(master_key, row.token_sealed, _context(row.id, "token")).decode()
    adapter = ADAPTERS.get(row.source)
    return IntegrationView(
        id=row.id,
        source=row.source,
        source_title=adapter.title if adapter else row.source,
        name=row.name,
        token=token,
        has_signing_secret=row.signing_secret_sealed is not None,
        options=row.options or {},
        enabled=row.enabled,
        alerts_received=row.alerts_received,
        last_alert_at=row.last_alert_at,
        created_at=row.created_at,
    )


def require_writer(principal: Principal) -> None:
    if not principal.role.at_least(Role.MEMBER):
        raise Forbidden("stakeholders cannot send test alerts")


def _require_admin(principal: Principal) -> None:
    if not principal.role.at_least(Role.ADMIN):
        raise Forbidden("only owners and admins manage integrations")


def _check(source: str, name: str, options: dict[str, Any]) -> None:
    if source not in ADAPTERS:
        raise InvalidInput(
            "source", f"unknown source {source!r}; one of: {', '.join(sorted(ADAPTERS))}"
        )
    if not name.strip() or len(name) > 120:
        raise InvalidInput("name", "must be 1 to 120 characters")
    # An adapter module with settings of its own checks them (the generic field mapping).
    check = getattr(sys.modules[type(ADAPTERS[source]).__module__], "validate_options", None)
    if check is not None:
        try:
            check(options)
        except ValueError as exc:
            raise InvalidInput("options", str(exc)) from exc


def _seal_secret(master_key: bytes, integration_id: uuid.UUID, secret: str | None) -> bytes | None:
    if secret is None or secret == "":
        return None
    if len(secret) < 16:
        raise InvalidInput("signing_secret", "must be at least 16 characters")
    return seal(master_key, secret.encode(), _context(integration_id, "signing"))


async def create(
    session: AsyncSession,
    principal: Principal,
    master_key: bytes,
    *,
    source: str,
    name: str,
    signing_secret: str | None = None,
    options: dict[str, Any] | None = None,
) -> IntegrationView:
    _require_admin(principal)
    return await create_as(
        session,
        principal.actor,
        principal.org_id,
        master_key,
        source=source,
        name=name,
        signing_secret=signing_secret,
        options=options,
    )


async def create_as(
    session: AsyncSession,
    actor: Actor,
    org_id: uuid.UUID,
    master_key: bytes,
    *,
    source: str,
    name: str,
    signing_secret: str | None = None,
    options: dict[str, Any] | None = None,
) -> IntegrationView:
    """Create an integration for ``org_id`` (tenant session); the caller checked who may."""
    options = options or {}
    _check(source, name, options)
    integration_id = uuid.uuid4()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = Integration(
        id=integration_id,
        org_id=org_id,
        source=source,
        name=name.strip(),
        token_digest=token_digest(token),
        token_sealed=seal(master_key, token.encode(), _context(integration_id, "token")),
        signing_secret_sealed=_seal_secret(master_key, integration_id, signing_secret),
        options=options,
        enabled=True,
        alerts_received=0,
        created_by=actor.label,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    await audit.record(
        session,
        actor,
        "integration.created",
        org_id=org_id,
        target_id=str(integration_id),
        details={"source": source, "name": row.name},
    )
    return view(row, master_key)


async def get(session: AsyncSession, integration_id: uuid.UUID) -> Integration:
    row = await session.get(Integration, integration_id)
    if row is None:
        raise NotFound("integration")
    return row


async def list_all(session: AsyncSession, master_key: bytes) -> list[IntegrationView]:
    rows = (await session.scalars(select(Integration).order_by(Integration.created_at))).all()
    return [view(row, master_key) for row in rows]


async def update(
    session: AsyncSession,
    principal: Principal,
    master_key: bytes,
    integration_id: uuid.UUID,
    *,
    name: str | None = None,
    enabled: bool | None = None,
    signing_secret: str | None = None,
    clear_signing_secret: bool = False,
    options: dict[str, Any] | None = None,
) -> IntegrationView:
    _require_admin(principal)
    row = await get(session, integration_id)
    _check(
        row.source,
        name if name is not None else row.name,
        options if options is not None else row.options,
    )
    if name is not None:
        row.name = name.strip()
    if enabled is not None:
        row.enabled = enabled
    if options is not None:
        row.options = options
    if clear_signing_secret:
        row.signing_secret_sealed = None
    elif signing_secret:
        row.signing_secret_sealed = _seal_secret(master_key, row.id, signing_secret)
    await audit.record(
        session,
        principal.actor,
        "integration.updated",
        org_id=principal.org_id,
        target_id=str(row.id),
        details={
            "name": row.name,
            "enabled": row.enabled,
            "signing_secret": "cleared"
            if clear_signing_secret
            else ("set" if signing_secret else "unchanged"),
        },
    )
    TOKENS.forget(row.token_digest)
    return view(row, master_key)


async def rotate(
    session: AsyncSession, principal: Principal, master_key: bytes, integration_id: uuid.UUID
) -> IntegrationView:
    """A new URL token; the old one stops working at once (in every replica within a second)."""
    _require_admin(principal)
    row = await get(session, integration_id)
    TOKENS.forget(row.token_digest)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row.token_digest = token_digest(token)
    row.token_sealed = seal(master_key, token.encode(), _context(row.id, "token"))
    await audit.record(
        session,
        principal.actor,
        "integration.token_rotated",
        org_id=principal.org_id,
        target_id=str(row.id),
    )
    return view(row, master_key)


def sample_alerts(
    source: str, options: dict[str, Any] | None = None
) -> tuple[NormalizedAlert, ...]:
    """What "Send test alert" submits: the source's sample payload, parsed (as the API does).

    The sample is ours, so it is parsed without the signature check a sender must pass; the
    generic source's sample is shaped by the integration's own field mapping (``options``).
    """
    adapter = ADAPTERS[source]
    options = options or {}
    is_generic = source == generic.ADAPTER.source
    body = generic.sample_for(options) if is_generic else adapter.sample()
    parsed = adapter.parse(
        WebhookRequest(body=body, headers={"content-type": "application/json"}),
        IntegrationConfig(None, options if is_generic else {}),
    )
    return parsed.alerts


async def delete(session: AsyncSession, principal: Principal, integration_id: uuid.UUID) -> None:
    _require_admin(principal)
    row = await get(session, integration_id)
    TOKENS.forget(row.token_digest)
    await session.delete(row)
    await audit.record(
        session,
        principal.actor,
        "integration.deleted",
        org_id=principal.org_id,
        target_id=str(integration_id),
        details={"source": row.source, "name": row.name},
    )


# ---- the webhook's token lookup (system session: the token is what says which org) --------


@dataclass(frozen=True, slots=True)
class Resolved:
    id: uuid.UUID
    org_id: uuid.UUID
    source: str
    enabled: bool
    config: IntegrationConfig


class TokenCache:
    """Webhook token → integration, for one second (rotation and removal forget at once here,
    and within a second in other replicas). Unknown tokens are remembered too, so that a
    flood of bad tokens costs one lookup per token per second."""

    def __init__(self, ttl: float = 1.0) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Resolved | None]] = {}

    def get(self, digest: str) -> tuple[bool, Resolved | None]:
        entry = self._entries.get(digest)
        if entry is None or time.monotonic() - entry[0] > self.ttl:
            return False, None
        return True, entry[1]

    def put(self, digest: str, value: Resolved | None) -> None:
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[digest] = (time.monotonic(), value)

    def forget(self, digest: str) -> None:
        self._entries.pop(digest, None)


TOKENS = TokenCache()


_LOOKUP = (
    "SELECT id, org_id, source, enabled, signing_secret_sealed, options "
    "FROM integrations WHERE token_digest = %s"
)


def cached(token: str) -> tuple[bool, Resolved | None]:
    """(known?, integration) from the last second's lookups, without touching the database."""
    return TOKENS.get(token_digest(token))


_LOOKUPS: dict[str, asyncio.Future[Resolved | None]] = {}


async def lookup(
    connect: Callable[[], AbstractAsyncContextManager[AsyncConnection[Any]]],
    master_key: bytes,
    token: str,
) -> Resolved | None:
    """``resolve`` with a connection from ``connect`` (system role), shared: when the last
    second's lookup has expired, every request for the token that arrives while it is looked
    up again waits for that one lookup (a flood of one tool's webhooks had each request miss
    at once and look it up itself)."""
    digest = token_digest(token)
    hit, cached_value = TOKENS.get(digest)
    if hit:
        return cached_value
    pending = _LOOKUPS.get(digest)
    if pending is None:

        async def look() -> Resolved | None:
            async with connect() as conn:
                return await resolve(conn, master_key, token)

        pending = asyncio.ensure_future(look())
        _LOOKUPS[digest] = pending
        pending.add_done_callback(lambda done: _looked_up(digest, done))
    return await asyncio.shield(pending)


def _looked_up(digest: str, done: asyncio.Future[Resolved | None]) -> None:
    _LOOKUPS.pop(digest, None)
    if not done.cancelled():
        done.exception()  # the waiters have it; marked seen should every one have gone


async def resolve(conn: AsyncConnection[Any], master_key: bytes, token: str) -> Resolved | None:
    """The integration a webhook token belongs to, or None.

    ``conn`` is a system-role connection (the token is what says which organisation); it is
    used only when the token is not remembered from the last second.
    """
    digest = token_digest(token)
    hit, cached = TOKENS.get(digest)
    if hit:
        return cached
    cursor = await conn.execute(_LOOKUP, (digest,))
    row = await cursor.fetchone()
    resolved = None
    if row is not None:
        integration_id, org_id, source, enabled, sealed_secret, options = row
        secret = (
            unseal(master_key, sealed_secret, _context(integration_id, "signing")).decode()
            if sealed_secret
            else None
        )
        resolved = Resolved(
            integration_id, org_id, source, enabled, IntegrationConfig(secret, options or {})
        )
    TOKENS.put(digest, resolved)
    return resolved
