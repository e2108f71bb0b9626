from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field

from vixpro.accounts import invitations
from vixpro.db.models import Invitation
from vixpro.web.api.pagination import Page, PageDep
from vixpro.web.api.schemas import InvitationOut, Strict
from vixpro.web.deps import PrincipalDep, StateDep, client_ip

router = APIRouter(tags=["team"])


class InvitationIn(Strict):
    email: str = Field(max_length=254)
    role: str


class IssuedInvitationOut(InvitationOut):
    accept_url: str = Field(description="send this link to the person; it is shown only once")


class AcceptIn(Strict):
    token: str = Field(min_length=10, max_length=200)
    password: str = Field(min_length=12, max_length=1024)
    display_name: str = Field(default="", max_length=100)


class AcceptedOut(BaseModel):
    user_id: UUID
    org_id: UUID


def _out(inv: Invitation) -> InvitationOut:
    return InvitationOut(
        id=inv.id,
        email=inv.email,
        role=inv.role,
        expires_at=inv.expires_at,
        created_at=inv.created_at,
    )


@router.get("/invitations", response_model=Page[InvitationOut], summary="Pending invitations")
async def list_invitations(
    principal: PrincipalDep, state: StateDep, page: PageDep
) -> Page[InvitationOut]:
    async with state.db.tenant_session(principal.org_id) as session:
        rows = await invitations.list_invitations(session, limit=page.limit, cursor=page.cursor)
    return Page(
        items=[_out(i) for i in rows], next_cursor=page.next([(i.created_at, i.id) for i in rows])
    )


@router.post(
    "/invitations",
    response_model=IssuedInvitationOut,
    status_code=status.HTTP_201_CREATED,
    summary="Invite someone by email with a role (owner or admin)",
)
async def create_invitation(
    body: InvitationIn, principal: PrincipalDep, state: StateDep
) -> IssuedInvitationOut:
    async with state.db.tenant_session(principal.org_id) as session:
        issued = await invitations.invite(
            session, principal, body.email, body.role, state.invitation_ttl
        )
    inv = issued.invitation
    return IssuedInvitationOut(
        **_out(inv).model_dump(), accept_url=f"{state.settings.base_url}/invite/{issued.token}"
    )


@router.delete(
    "/invitations/{invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke a pending invitation",
)
async def revoke_invitation(invitation_id: UUID, principal: PrincipalDep, state: StateDep) -> None:
    async with state.db.tenant_session(principal.org_id) as session:
        await invitations.revoke(session, principal, invitation_id)


@router.post(
    "/invitations/accept",
    response_model=AcceptedOut,
    status_code=status.HTTP_201_CREATED,
    summary="Accept an invitation as a new user (no authentication: the token is the proof)",
)
async def accept_invitation(body: AcceptIn, request: Request, state: StateDep) -> AcceptedOut:
    async with state.db.system_session("accept invitation by token") as session:
        user_id, org_id = await invitations.accept(
            session,
            body.token,
            password=body.password,
            display_name=body.display_name,
            ip=client_ip(request),
        )
    return AcceptedOut(user_id=user_id, org_id=org_id)
