from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field

from vixpro.db.models import Server, ServerEvent
from vixpro.tools import servers
from vixpro.web.api.pagination import Page, PageDep
from vixpro.web.api.schemas import Strict
from vixpro.web.deps import PrincipalDep, StateDep
from vixpro.web.urls import install_command, public_base

router = APIRouter(tags=["servers"])


class ServerOut(BaseModel):
    id: UUID
    name: str
    status: str
    connected: bool
    facts: dict[str, Any]
    agent_version: str
    manifest_version: int
    config_version: int
    allowed_log_roots: list[str]
    allowed_cleanup_roots: list[str]
    tamper_detail: str | None
    last_seen_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, s: Server) -> ServerOut:
        return cls(
            id=s.id,
            name=s.name,
            status=s.status,
            connected=s.replica is not None,
            facts=s.facts,
            agent_version=s.agent_version,
            manifest_version=s.manifest_version,
            config_version=s.config_version,
            allowed_log_roots=s.config.get("allowed_log_roots", servers.DEFAULT_LOG_ROOTS),
            allowed_cleanup_roots=s.config.get(
                "allowed_cleanup_roots", servers.DEFAULT_CLEANUP_ROOTS
            ),
            tamper_detail=s.tamper_detail,
            last_seen_at=s.last_seen_at,
            created_at=s.created_at,
        )


class EventOut(BaseModel):
    id: UUID
    server_id: UUID
    kind: str
    severity: str
    detail: str
    at: datetime

    @classmethod
    def of(cls, e: ServerEvent) -> EventOut:
        return cls(
            id=e.id,
            server_id=e.server_id,
            kind=e.kind,
            severity=e.severity,
            detail=e.detail,
            at=e.at,
        )


class TokenOut(BaseModel):
    token: str = Field(description="single use; shown only in this response")
    expires_at: datetime
    command: str = Field(description="paste this on the server, as root")


class ServerPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    allowed_log_roots: list[str] | None = Field(default=None, max_length=20)
    allowed_cleanup_roots: list[str] | None = Field(default=None, max_length=20)
    reissue_config: bool = Field(
        default=False, description="push a fresh signed config (clears tampering)"
    )


@router.post(
    "/servers/enrollment-tokens",
    response_model=TokenOut,
    status_code=status.HTTP_201_CREATED,
    summary="A one-time enrolment token and the command that installs the host agent",
)
async def create_token(request: Request, principal: PrincipalDep, state: StateDep) -> TokenOut:
    async with state.db.tenant_session(principal.org_id) as session:
        issued = await servers.create_enrollment_token(
            session, principal.actor, principal.org_id, principal.role
        )
    return TokenOut(
        token=issued.token,
        expires_at=issued.expires_at,
        command=install_command(public_base(state, request), issued.token),
    )


@router.get("/servers", response_model=Page[ServerOut], summary="The organisation's servers")
async def list_servers(principal: PrincipalDep, state: StateDep, page: PageDep) -> Page[ServerOut]:
    async with state.db.tenant_session(principal.org_id) as session:
        rows = await servers.list_servers(session, limit=page.limit, cursor=page.cursor)
    return Page(
        items=[ServerOut.of(s) for s in rows],
        next_cursor=page.next([(s.created_at, s.id) for s in rows]),
    )


@router.get("/servers/{server_id}", response_model=ServerOut, summary="One server")
async def get_server(server_id: UUID, principal: PrincipalDep, state: StateDep) -> ServerOut:
    async with state.db.tenant_session(principal.org_id) as session:
        return ServerOut.of(await servers.get_server(session, server_id))


@router.patch("/servers/{server_id}", response_model=ServerOut, summary="Rename or reconfigure")
async def patch_server(
    server_id: UUID, body: ServerPatch, principal: PrincipalDep, state: StateDep
) -> ServerOut:
    async with state.db.tenant_session(principal.org_id) as session:
        server = await servers.update_config(
            session,
            principal,
            server_id,
            name=body.name,
            allowed_log_roots=body.allowed_log_roots,
            allowed_cleanup_roots=body.allowed_cleanup_roots,
            reissue=body.reissue_config,
        )
        out = ServerOut.of(server)
        document = state.signer.sign(servers.config_body(server)) if state.signer else None
    if document is not None:
        from vixpro_agent.protocol import messages as m

        await state.hub.send_to(server_id, m.message(m.CONFIG, document=document))
    return out


@router.delete(
    "/servers/{server_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a server (its host agent is disconnected)",
)
async def delete_server(server_id: UUID, principal: PrincipalDep, state: StateDep) -> None:
    async with state.db.tenant_session(principal.org_id) as session:
        await servers.remove_server(session, principal, server_id)
    await state.hub.disconnect(server_id)


@router.get(
    "/servers/{server_id}/events",
    response_model=list[EventOut],
    summary="What happened to a server: tampering, going offline, refused manifests",
)
async def server_events(
    server_id: UUID, principal: PrincipalDep, state: StateDep
) -> list[EventOut]:
    async with state.db.tenant_session(principal.org_id) as session:
        await servers.get_server(session, server_id)
        rows = await servers.list_events(session, server_id=server_id)
    return [EventOut.of(e) for e in rows]


@router.get("/server-events", response_model=list[EventOut], summary="Recent events, all servers")
async def all_events(principal: PrincipalDep, state: StateDep) -> list[EventOut]:
    async with state.db.tenant_session(principal.org_id) as session:
        rows = await servers.list_events(session)
    return [EventOut.of(e) for e in rows]
