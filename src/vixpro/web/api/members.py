from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from vixpro.accounts import members
from vixpro.db.models import Membership, User
from vixpro.web.api.pagination import Page, PageDep
from vixpro.web.api.schemas import MemberOut, Strict
from vixpro.web.deps import PrincipalDep, StateDep

router = APIRouter(tags=["team"])


class RolePatch(Strict):
    role: str


def _out(membership: Membership, user: User) -> MemberOut:
    return MemberOut(
        id=membership.id,
        user_id=user.id,
        email=user.email,
        display_name=user.display_name,
        role=membership.role,
        joined_at=membership.created_at,
    )


@router.get("/members", response_model=Page[MemberOut], summary="The organisation's members")
async def list_members(principal: PrincipalDep, state: StateDep, page: PageDep) -> Page[MemberOut]:
    async with state.db.tenant_session(principal.org_id) as session:
        rows = await members.list_members(session, limit=page.limit, cursor=page.cursor)
    return Page(
        items=[_out(m, u) for m, u in rows],
        next_cursor=page.next([(m.created_at, m.id) for m, _ in rows]),
    )


@router.get("/members/{member_id}", response_model=MemberOut, summary="One member")
async def get_member(member_id: UUID, principal: PrincipalDep, state: StateDep) -> MemberOut:
    async with state.db.tenant_session(principal.org_id) as session:
        membership, user = await members.get_member(session, member_id)
        return _out(membership, user)


@router.patch("/members/{member_id}", response_model=MemberOut, summary="Change a member's role")
async def change_role(
    member_id: UUID, body: RolePatch, principal: PrincipalDep, state: StateDep
) -> MemberOut:
    async with state.db.tenant_session(principal.org_id) as session:
        await members.change_role(session, principal, member_id, body.role)
        membership, user = await members.get_member(session, member_id)
        return _out(membership, user)


@router.delete(
    "/members/{member_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a member"
)
async def remove_member(member_id: UUID, principal: PrincipalDep, state: StateDep) -> None:
    async with state.db.tenant_session(principal.org_id) as session:
        await members.remove(session, principal, member_id)
