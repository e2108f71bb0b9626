from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status
from pydantic import Field

from vixpro.accounts import api_keys
from vixpro.db.models import ApiKey
from vixpro.web.api.pagination import Page, PageDep
from vixpro.web.api.schemas import ApiKeyOut, Strict
from vixpro.web.deps import PrincipalDep, StateDep

router = APIRouter(tags=["api keys"])


class ApiKeyIn(Strict):
    name: str = Field(min_length=1, max_length=100)
    role: str = Field(description="admin, member or stakeholder")


class IssuedKeyOut(ApiKeyOut):
    key: str = Field(description="the whole key; shown only in this response")


def _out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=key.id,
        name=key.name,
        role=key.role,
        prefix=key.prefix,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )


@router.get("/api-keys", response_model=Page[ApiKeyOut], summary="The organisation's API keys")
async def list_keys(principal: PrincipalDep, state: StateDep, page: PageDep) -> Page[ApiKeyOut]:
    async with state.db.tenant_session(principal.org_id) as session:
        rows = await api_keys.list_keys(session, limit=page.limit, cursor=page.cursor)
    return Page(
        items=[_out(k) for k in rows], next_cursor=page.next([(k.created_at, k.id) for k in rows])
    )


@router.get("/api-keys/{key_id}", response_model=ApiKeyOut, summary="One API key")
async def get_key(key_id: UUID, principal: PrincipalDep, state: StateDep) -> ApiKeyOut:
    async with state.db.tenant_session(principal.org_id) as session:
        return _out(await api_keys.get_key(session, key_id))


@router.post(
    "/api-keys",
    response_model=IssuedKeyOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key (owner or admin); the key is in this response only",
)
async def create_key(body: ApiKeyIn, principal: PrincipalDep, state: StateDep) -> IssuedKeyOut:
    async with state.db.tenant_session(principal.org_id) as session:
        issued = await api_keys.create(
            session,
            principal.actor,
            principal.org_id,
            name=body.name,
            role_text=body.role,
            actor_role=principal.role,
            created_by=principal.user_id,
        )
        return IssuedKeyOut(**_out(issued.api_key).model_dump(), key=issued.secret)


@router.delete(
    "/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke an API key"
)
async def revoke_key(key_id: UUID, principal: PrincipalDep, state: StateDep) -> None:
    async with state.db.tenant_session(principal.org_id) as session:
        await api_keys.revoke(session, principal.actor, principal.role, principal.org_id, key_id)
    state.api_keys.forget(key_id)
