"""The bell: the signed-in person's notifications in this organisation, unread count, mark read.

A bell belongs to a person, so API keys (which are nobody) are refused.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from vixpro.accounts.principal import Principal
from vixpro.db.models.notify import BellNotification
from vixpro.notify import bell
from vixpro.web.deps import PrincipalDep, StateDep
from vixpro.web.problems import ApiError

router = APIRouter(tags=["bell"])


class BellItemOut(BaseModel):
    id: int
    kind: str
    title: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def of(cls, row: BellNotification) -> BellItemOut:
        return cls(
            id=row.id,
            kind=row.kind,
            title=row.title,
            body=row.body,
            link=row.link,
            created_at=row.created_at,
            read_at=row.read_at,
        )


class BellOut(BaseModel):
    unread: int
    items: list[BellItemOut]
    next_before: int | None


class UnreadOut(BaseModel):
    unread: int


class MarkedOut(BaseModel):
    marked: int


def _person(principal: Principal) -> uuid.UUID:
    if principal.user_id is None:
        raise ApiError(403, "the bell belongs to a person; API keys have none", type_="no-person")
    return principal.user_id


@router.get("/bell", response_model=BellOut, summary="My notifications, newest first")
async def list_bell(
    principal: PrincipalDep,
    state: StateDep,
    limit: int = Query(default=50, ge=1, le=200),
    before: int | None = Query(default=None, ge=1, description="next_before of the last page"),
) -> BellOut:
    user_id = _person(principal)
    async with state.db.tenant_session(principal.org_id) as session:
        rows = list(await bell.latest(session, user_id, limit=limit, before=before))
        unread = await bell.unread(session, user_id)
    following = rows[-1].id if len(rows) == limit else None
    return BellOut(unread=unread, items=[BellItemOut.of(r) for r in rows], next_before=following)


@router.get("/bell/unread", response_model=UnreadOut, summary="How many are unread")
async def unread_count(principal: PrincipalDep, state: StateDep) -> UnreadOut:
    user_id = _person(principal)
    async with state.db.tenant_session(principal.org_id) as session:
        return UnreadOut(unread=await bell.unread(session, user_id))


@router.post("/bell/read-all", response_model=MarkedOut, summary="Mark all read")
async def read_all(principal: PrincipalDep, state: StateDep) -> MarkedOut:
    user_id = _person(principal)
    async with state.db.tenant_session(principal.org_id) as session:
        return MarkedOut(marked=await bell.mark_all_read(session, user_id))


@router.post(
    "/bell/{notification_id}/read",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Mark one read",
)
async def read_one(notification_id: int, principal: PrincipalDep, state: StateDep) -> None:
    async with state.db.tenant_session(principal.org_id) as session:
        # Another organisation's id is "not found" even to an API key.
        if await session.get(BellNotification, notification_id) is None:
            raise ApiError(404, "notification not found", type_="not-found")
        if not await bell.mark_read(session, _person(principal), notification_id):
            raise ApiError(404, "notification not found", type_="not-found")
