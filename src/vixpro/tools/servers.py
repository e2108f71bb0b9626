"""Servers: enrolment with a one-time token, signed configs, listing, removal, events."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from vixpro_agent.protocol import signing

from vixpro.accounts import audit
from vixpro.accounts.errors import Forbidden, InvalidInput, NotFound
from vixpro.accounts.plans import org_plan
from vixpro.accounts.principal import Actor, Principal
from vixpro.accounts.secrets import new_token, token_hash
from vixpro.core.pagination import Cursor
from vixpro.core.plans import Limit, check_limit
from vixpro.core.roles import Role
from vixpro.db.models import EnrollmentToken, Manifest, Server, ServerEvent
from vixpro.db.paging import keyset
from vixpro.tools.catalogue import manifest_document
from vixpro.tools.signing import PlatformSigner

TOKEN_TTL = timedelta(hours=1)
DEFAULT_LOG_ROOTS = ["/var/log"]
DEFAULT_CLEANUP_ROOTS = ["/var/tmp", "/tmp"]  # noqa: S108 - paths on the customer's server
_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime


async def create_enrollment_token(
    session: AsyncSession, actor: Actor, org_id: uuid.UUID, actor_role: Role | None
) -> IssuedToken:
    """A single-use token, valid for an hour (tenant session; ``actor_role`` None for the CLI)."""
    if actor_role is not None and not actor_role.at_least(Role.ADMIN):
        raise Forbidden("only owners and admins add servers")
    # A prefix so that the token never starts with "-", which a command line would take for
    # an option (`vixpro-agent enroll --token -abc...`).
    token = f"vxe_{new_token()}"
    expires = datetime.now(UTC) + TOKEN_TTL
    row = EnrollmentToken(
        org_id=org_id, token_hash=token_hash(token), created_by=actor.label, expires_at=expires
    )
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        actor,
        "server.enrollment_token_created",
        org_id=org_id,
        target_type="enrollment_token",
        target_id=row.id,
    )
    return IssuedToken(token, expires)


def config_body(server: Server) -> dict[str, Any]:
    return {
        "version": server.config_version,
        "server_id": str(server.id),
        "org_id": str(server.org_id),
        "platform_url": server.config.get("platform_url", ""),
        "allowed_log_roots": server.config.get("allowed_log_roots", DEFAULT_LOG_ROOTS),
        "allowed_cleanup_roots": server.config.get("allowed_cleanup_roots", DEFAULT_CLEANUP_ROOTS),
        "issued_at": datetime.now(UTC).isoformat(),
    }


def _server_name(facts: dict[str, Any]) -> str:
    name = _NAME.sub("-", str(facts.get("hostname") or "server")).strip("-")[:255]
    return name or "server"


async def enroll(
    session: AsyncSession,
    signer: PlatformSigner,
    manifest: Manifest,
    *,
    token: str,
    public_key: str,
    facts: dict[str, Any],
    platform_url: str,
    ip: str | None,
) -> dict[str, Any]:
    """Register a host agent (system session: the token is the only proof of the org)."""
    row = await session.scalar(
        select(EnrollmentToken)
        .where(EnrollmentToken.token_hash == token_hash(token))
        .with_for_update()
    )
    if row is None or row.used_at is not None or row.expires_at <= datetime.now(UTC):
        raise NotFound("enrolment token (it may have expired or been used)")
    try:
        signing.load_public_pem(public_key)
    except signing.SignatureError as exc:
        raise InvalidInput("public_key", str(exc)) from exc
    plan = await org_plan(session, row.org_id)
    servers = await session.scalar(
        select(func.count()).select_from(Server).where(Server.org_id == row.org_id)
    )
    check_limit(plan, Limit.SERVERS, int(servers or 0))
    server = Server(
        org_id=row.org_id,
        name=_server_name(facts),
        public_key=public_key,
        status="offline",
        facts=facts,
        agent_version=str(facts.get("agent_version", ""))[:32],
        config={
            "platform_url": platform_url,
            "allowed_log_roots": DEFAULT_LOG_ROOTS,
            "allowed_cleanup_roots": DEFAULT_CLEANUP_ROOTS,
        },
        config_version=1,
    )
    session.add(server)
    await session.flush()
    row.used_at = datetime.now(UTC)
    row.server_id = server.id
    await audit.record(
        session,
        Actor("system", None, "host agent enrolment", ip),
        "server.enrolled",
        org_id=row.org_id,
        target_type="server",
        target_id=server.id,
        details={"name": server.name, "token_created_by": row.created_by},
    )
    return {
        "server_id": str(server.id),
        "platform_public_key": signer.public_pem,
        "config": signer.sign(config_body(server)),
        "manifest": manifest_document(manifest),
    }


async def list_servers(
    session: AsyncSession, *, limit: int = 100, cursor: Cursor | None = None
) -> Sequence[Server]:
    query = keyset(select(Server), Server.created_at, Server.id, cursor, limit)
    return (await session.scalars(query)).all()


async def get_server(session: AsyncSession, server_id: uuid.UUID) -> Server:
    server = await session.get(Server, server_id)
    if server is None:
        raise NotFound("server")
    return server


async def remove_server(
    session: AsyncSession, principal: Principal, server_id: uuid.UUID
) -> Server:
    if not principal.role.at_least(Role.ADMIN):
        raise Forbidden("only owners and admins remove servers")
    server = await get_server(session, server_id)
    await session.delete(server)
    await session.flush()
    await audit.record(
        session,
        principal.actor,
        "server.removed",
        org_id=principal.org_id,
        target_type="server",
        target_id=server_id,
        details={"name": server.name},
    )
    return server


def _clean_roots(field: str, roots: list[str]) -> list[str]:
    cleaned = []
    for root in roots:
        if not root.startswith("/") or ".." in root.split("/") or len(root) > 255:
            raise InvalidInput(field, f"{root!r} is not an absolute path")
        cleaned.append(root.rstrip("/") or "/")
    if "/" in cleaned:
        raise InvalidInput(field, "the whole filesystem cannot be an allowed root")
    return cleaned


async def update_config(
    session: AsyncSession,
    principal: Principal,
    server_id: uuid.UUID,
    *,
    name: str | None = None,
    allowed_log_roots: list[str] | None = None,
    allowed_cleanup_roots: list[str] | None = None,
    reissue: bool = False,
) -> Server:
    """Change a server's name or signed config; any config change (or ``reissue``, which clears
    tampering) issues a new config version to push to the host agent."""
    if not principal.role.at_least(Role.ADMIN):
        raise Forbidden("only owners and admins change servers")
    server = await get_server(session, server_id)
    changes: dict[str, Any] = {}
    if name is not None:
        server.name = _server_name({"hostname": name})
        changes["name"] = server.name
    config = dict(server.config)
    if allowed_log_roots is not None:
        config["allowed_log_roots"] = _clean_roots("allowed_log_roots", allowed_log_roots)
    if allowed_cleanup_roots is not None:
        config["allowed_cleanup_roots"] = _clean_roots(
            "allowed_cleanup_roots", allowed_cleanup_roots
        )
    if config != server.config or reissue:
        server.config = config
        server.config_version += 1
        changes["config_version"] = server.config_version
        if server.status == "tampered":
            server.status = "online" if server.replica else "offline"
            server.tamper_detail = None
            changes["tamper_cleared"] = True
    await session.flush()
    await audit.record(
        session,
        principal.actor,
        "server.updated",
        org_id=principal.org_id,
        target_type="server",
        target_id=server_id,
        details=changes,
    )
    return server


async def list_events(
    session: AsyncSession, *, server_id: uuid.UUID | None = None, limit: int = 100
) -> Sequence[ServerEvent]:
    query = select(ServerEvent).order_by(ServerEvent.at.desc()).limit(limit)
    if server_id is not None:
        query = query.where(ServerEvent.server_id == server_id)
    return (await session.scalars(query)).all()
