"""Platform maintenance announcements: every organisation reads the current ones; staff make
and cancel them under ``/staff/announcements``."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from vixpro.db.models.support import Announcement
from vixpro.support import announcements
from vixpro.web.api.schemas import Strict
from vixpro.web.api.staff import StaffDep
from vixpro.web.deps import PrincipalDep, StateDep

org_router = APIRouter(tags=["maintenance announcements"])
staff_router = APIRouter(prefix="/staff", tags=["staff"])


class AnnouncementOut(BaseModel):
    id: UUID
    title: str
    body: str
    starts_at: datetime
    ends_at: datetime
    emergency: bool
    cancelled_at: datetime | None

    @classmethod
    def of(cls, row: Announcement) -> AnnouncementOut:
        return cls.model_validate(row, from_attributes=True)


class AnnouncementIn(Strict):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=4000)
    starts_at: datetime
    ends_at: datetime
    emergency: bool = False


@org_router.get(
    "/announcements",
    response_model=list[AnnouncementOut],
    summary="Platform maintenance that has not ended",
)
async def current(principal: PrincipalDep, state: StateDep) -> list[AnnouncementOut]:
    async with state.db.tenant_session(principal.org_id) as session:
        return [AnnouncementOut.of(a) for a in await announcements.current(session)]


@staff_router.get("/announcements", response_model=list[AnnouncementOut], summary="All of them")
async def list_all(actor: StaffDep, state: StateDep) -> list[AnnouncementOut]:
    async with state.db.system_session("staff console: announcements") as session:
        return [AnnouncementOut.of(a) for a in await announcements.list_all(session)]


@staff_router.post(
    "/announcements",
    response_model=AnnouncementOut,
    status_code=status.HTTP_201_CREATED,
    summary="Announce maintenance to every organisation (24 hours' notice unless emergency)",
)
async def announce(body: AnnouncementIn, actor: StaffDep, state: StateDep) -> AnnouncementOut:
    async with state.db.system_session("staff console: announce maintenance") as session:
        row = await announcements.announce(
            session,
            actor,
            title=body.title,
            body=body.body,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            emergency=body.emergency,
        )
        return AnnouncementOut.of(row)


@staff_router.post(
    "/announcements/{announcement_id}/cancel",
    response_model=AnnouncementOut,
    summary="Cancel (every organisation is told)",
)
async def cancel(announcement_id: UUID, actor: StaffDep, state: StateDep) -> AnnouncementOut:
    async with state.db.system_session("staff console: cancel announcement") as session:
        return AnnouncementOut.of(await announcements.cancel(session, actor, announcement_id))


router = APIRouter()
router.include_router(org_router)
router.include_router(staff_router)
