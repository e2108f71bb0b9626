"""AI provider keys (shown by their last four characters only) and each area's provider chain."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from vixpro.ai import areas, keys
from vixpro.ai.providers.probe import probe
from vixpro.ai.providers.registry import KINDS
from vixpro.web.api.schemas import Strict
from vixpro.web.deps import PrincipalDep, StateDep

router = APIRouter(tags=["ai providers"])


class KindOut(BaseModel):
    kind: str
    title: str
    default_base_url: str | None
    key_required: bool
    example_model: str


class ProviderOut(BaseModel):
    id: UUID
    kind: str
    kind_title: str
    label: str
    base_url: str | None
    key_last4: str = Field(
        description="the last four characters of the key; the key is never returned"
    )
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, view: keys.KeyView) -> ProviderOut:
        return cls(
            id=view.id,
            kind=view.kind,
            kind_title=view.kind_title,
            label=view.label,
            base_url=view.base_url,
            key_last4=view.key_last4,
            created_by=view.created_by,
            created_at=view.created_at,
        )


class ProviderIn(Strict):
    kind: str = Field(description="one of GET /ai/providers/kinds")
    label: str = Field(min_length=1, max_length=120)
    api_key: str | None = Field(
        default=None, max_length=1000, description="write-only; sealed at rest, never returned"
    )
    base_url: str | None = Field(
        default=None,
        max_length=500,
        description="required for openai_compatible; optional override otherwise",
    )


class ProviderPatch(Strict):
    label: str | None = Field(default=None, min_length=1, max_length=120)
    api_key: str | None = Field(default=None, max_length=1000, description="replaces the key")
    base_url: str | None = Field(default=None, max_length=500)


class ProbeIn(Strict):
    model: str = Field(min_length=1, max_length=200)


class ProbeOut(BaseModel):
    ok: bool
    reason: str | None
    reply: str
    tokens_in: int
    tokens_out: int


class StepIn(Strict):
    provider_id: UUID
    model: str = Field(min_length=1, max_length=200)


class ChainIn(Strict):
    chain: list[StepIn] = Field(
        max_length=areas.MAX_CHAIN, description="first tried first; empty: the runbook engine"
    )


class StepOut(BaseModel):
    provider_id: UUID
    kind: str
    label: str
    model: str


class AreaOut(BaseModel):
    area: str
    approval_timeout_s: float
    chain: list[StepOut]

    @classmethod
    def of(cls, name: str, steps: list[areas.ChainStep]) -> AreaOut:
        return cls(
            area=name,
            approval_timeout_s=areas.AREA_TIMEOUT_S[name],
            chain=[
                StepOut(provider_id=s.key_id, kind=s.kind, label=s.label, model=s.model)
                for s in steps
            ],
        )


@router.get("/ai/providers/kinds", response_model=list[KindOut], summary="Supported providers")
async def list_kinds(principal: PrincipalDep) -> list[KindOut]:
    return [
        KindOut(
            kind=k.kind,
            title=k.title,
            default_base_url=k.default_base_url,
            key_required=k.key_required,
            example_model=k.example_model,
        )
        for k in KINDS.values()
    ]


@router.get("/ai/providers", response_model=list[ProviderOut], summary="Provider keys")
async def list_providers(principal: PrincipalDep, state: StateDep) -> list[ProviderOut]:
    async with state.db.tenant_session(principal.org_id) as session:
        return [ProviderOut.of(keys.view(row)) for row in await keys.list_all(session)]


@router.post(
    "/ai/providers",
    response_model=ProviderOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a provider key",
)
async def create_provider(
    body: ProviderIn, principal: PrincipalDep, state: StateDep
) -> ProviderOut:
    async with state.db.tenant_session(principal.org_id) as session:
        row = await keys.add(
            session,
            principal,
            state.settings.master_key_bytes(),
            kind=body.kind,
            label=body.label,
            api_key=body.api_key,
            base_url=body.base_url,
        )
        return ProviderOut.of(keys.view(row))


@router.get("/ai/providers/{provider_id}", response_model=ProviderOut, summary="One provider key")
async def get_provider(provider_id: UUID, principal: PrincipalDep, state: StateDep) -> ProviderOut:
    async with state.db.tenant_session(principal.org_id) as session:
        return ProviderOut.of(keys.view(await keys.get(session, provider_id)))


@router.patch(
    "/ai/providers/{provider_id}",
    response_model=ProviderOut,
    summary="Rename, move or replace the key",
)
async def patch_provider(
    provider_id: UUID, body: ProviderPatch, principal: PrincipalDep, state: StateDep
) -> ProviderOut:
    async with state.db.tenant_session(principal.org_id) as session:
        row = await keys.update(
            session,
            principal,
            state.settings.master_key_bytes(),
            provider_id,
            label=body.label,
            api_key=body.api_key,
            base_url=body.base_url,
        )
        return ProviderOut.of(keys.view(row))


@router.delete(
    "/ai/providers/{provider_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a key (and its steps in every area)",
)
async def delete_provider(provider_id: UUID, principal: PrincipalDep, state: StateDep) -> None:
    async with state.db.tenant_session(principal.org_id) as session:
        await keys.delete(session, principal, provider_id)


@router.post(
    "/ai/providers/{provider_id}/test",
    response_model=ProbeOut,
    summary="Test the connection: one tiny request to the model",
)
async def test_provider(
    provider_id: UUID, body: ProbeIn, principal: PrincipalDep, state: StateDep
) -> ProbeOut:
    async with state.db.tenant_session(principal.org_id) as session:
        row = await keys.get(session, provider_id)
        keys.require_admin(principal)
        spec = keys.spec(row, state.settings.master_key_bytes(), model=body.model, timeout_s=30)
    # Outside the transaction: the request may take seconds.
    result = await probe(spec)
    return ProbeOut(
        ok=result.ok,
        reason=result.reason,
        reply=result.reply,
        tokens_in=result.tokens_in,
        tokens_out=result.tokens_out,
    )


@router.get("/ai/areas", response_model=list[AreaOut], summary="Every area's provider chain")
async def list_areas(principal: PrincipalDep, state: StateDep) -> list[AreaOut]:
    async with state.db.tenant_session(principal.org_id) as session:
        chains = await areas.all_chains(session)
    return [AreaOut.of(name, steps) for name, steps in chains.items()]


@router.get("/ai/areas/{area}", response_model=AreaOut, summary="One area's provider chain")
async def get_area(area: str, principal: PrincipalDep, state: StateDep) -> AreaOut:
    async with state.db.tenant_session(principal.org_id) as session:
        return AreaOut.of(area, await areas.get_chain(session, area))


@router.put("/ai/areas/{area}", response_model=AreaOut, summary="Set one area's provider chain")
async def put_area(area: str, body: ChainIn, principal: PrincipalDep, state: StateDep) -> AreaOut:
    async with state.db.tenant_session(principal.org_id) as session:
        steps = await areas.set_chain(
            session, principal, area, [(step.provider_id, step.model) for step in body.chain]
        )
    return AreaOut.of(area, steps)
