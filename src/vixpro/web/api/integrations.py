from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field

from vixpro.incidents import integrations
from vixpro.incidents.ingest import Submission
from vixpro.ingest.registry import sources
from vixpro.web.api.schemas import Strict
from vixpro.web.deps import PrincipalDep, StateDep
from vixpro.web.urls import public_base

router = APIRouter(tags=["integrations"])


class SourceOut(BaseModel):
    source: str
    title: str
    docs: str


class IntegrationOut(BaseModel):
    id: UUID
    source: str
    source_title: str
    name: str
    webhook_url: str = Field(description="secret: whoever has it can send alerts")
    has_signing_secret: bool
    options: dict[str, Any]
    enabled: bool
    alerts_received: int
    last_alert_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, view: integrations.IntegrationView, base: str) -> IntegrationOut:
        return cls(
            id=view.id,
            source=view.source,
            source_title=view.source_title,
            name=view.name,
            webhook_url=webhook_url(base, view.token),
            has_signing_secret=view.has_signing_secret,
            options=view.options,
            enabled=view.enabled,
            alerts_received=view.alerts_received,
            last_alert_at=view.last_alert_at,
            created_at=view.created_at,
        )


def webhook_url(base: str, token: str) -> str:
    return f"{base}/api/v1/webhooks/{token}"


class IntegrationIn(Strict):
    source: str = Field(description="one of GET /integrations/sources")
    name: str = Field(min_length=1, max_length=120)
    signing_secret: str | None = Field(
        default=None, min_length=16, max_length=256, description="write-only; never returned"
    )
    options: dict[str, Any] = Field(default_factory=dict)


class IntegrationPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    enabled: bool | None = None
    signing_secret: str | None = Field(default=None, min_length=16, max_length=256)
    clear_signing_secret: bool = False
    options: dict[str, Any] | None = None


class TestOut(BaseModel):
    accepted: int
    incident_ids: list[UUID]


@router.get("/integrations/sources", response_model=list[SourceOut], summary="Supported sources")
async def list_sources(principal: PrincipalDep) -> list[SourceOut]:
    return [SourceOut(source=s, title=t, docs=f"docs/integrations/{s}.md") for s, t in sources()]


@router.get("/integrations", response_model=list[IntegrationOut], summary="Integrations")
async def list_integrations(
    request: Request, principal: PrincipalDep, state: StateDep
) -> list[IntegrationOut]:
    async with state.db.tenant_session(principal.org_id) as session:
        views = await integrations.list_all(session, state.settings.master_key_bytes())
    base = public_base(state, request)
    return [IntegrationOut.of(v, base) for v in views]


@router.post(
    "/integrations",
    response_model=IntegrationOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add an integration and get its webhook URL",
)
async def create_integration(
    body: IntegrationIn, request: Request, principal: PrincipalDep, state: StateDep
) -> IntegrationOut:
    async with state.db.tenant_session(principal.org_id) as session:
        view = await integrations.create(
            session,
            principal,
            state.settings.master_key_bytes(),
            source=body.source,
            name=body.name,
            signing_secret=body.signing_secret,
            options=body.options,
        )
    return IntegrationOut.of(view, public_base(state, request))


@router.get("/integrations/{integration_id}", response_model=IntegrationOut, summary="One")
async def get_integration(
    integration_id: UUID, request: Request, principal: PrincipalDep, state: StateDep
) -> IntegrationOut:
    async with state.db.tenant_session(principal.org_id) as session:
        row = await integrations.get(session, integration_id)
        view = integrations.view(row, state.settings.master_key_bytes())
    return IntegrationOut.of(view, public_base(state, request))


@router.patch("/integrations/{integration_id}", response_model=IntegrationOut, summary="Change")
async def patch_integration(
    integration_id: UUID,
    body: IntegrationPatch,
    request: Request,
    principal: PrincipalDep,
    state: StateDep,
) -> IntegrationOut:
    async with state.db.tenant_session(principal.org_id) as session:
        view = await integrations.update(
            session,
            principal,
            state.settings.master_key_bytes(),
            integration_id,
            name=body.name,
            enabled=body.enabled,
            signing_secret=body.signing_secret,
            clear_signing_secret=body.clear_signing_secret,
            options=body.options,
        )
    return IntegrationOut.of(view, public_base(state, request))


@router.post(
    "/integrations/{integration_id}/rotate",
    response_model=IntegrationOut,
    summary="A new webhook URL; the old one stops working",
)
async def rotate_integration(
    integration_id: UUID, request: Request, principal: PrincipalDep, state: StateDep
) -> IntegrationOut:
    async with state.db.tenant_session(principal.org_id) as session:
        view = await integrations.rotate(
            session, principal, state.settings.master_key_bytes(), integration_id
        )
    return IntegrationOut.of(view, public_base(state, request))


@router.delete(
    "/integrations/{integration_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove"
)
async def delete_integration(
    integration_id: UUID, principal: PrincipalDep, state: StateDep
) -> None:
    async with state.db.tenant_session(principal.org_id) as session:
        await integrations.delete(session, principal, integration_id)


@router.post(
    "/integrations/{integration_id}/test",
    response_model=TestOut,
    summary="Send the source's sample alert through this integration",
)
async def send_test_alert(
    integration_id: UUID, principal: PrincipalDep, state: StateDep
) -> TestOut:
    async with state.db.tenant_session(principal.org_id) as session:
        row = await integrations.get(session, integration_id)
        source, options = row.source, row.options or {}
    integrations.require_writer(principal)
    alerts = integrations.sample_alerts(source, options)
    outcome = await state.ingest.submit(Submission(principal.org_id, integration_id, alerts))
    return TestOut(accepted=len(outcome.alert_ids), incident_ids=list(outcome.incident_ids))
