"""Action items: the organisation sees its own and verifies deployed fixes; platform staff work
the engineering queue under ``/staff/action-items``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from vixpro.db.models import ActionItem
from vixpro.support import action_items
from vixpro.support.action_items import ItemDetail
from vixpro.web.api.pagination import Page, PageDep
from vixpro.web.api.schemas import Strict
from vixpro.web.api.staff import StaffDep
from vixpro.web.deps import PrincipalDep, StateDep

org_router = APIRouter(tags=["action items"])
staff_router = APIRouter(prefix="/staff", tags=["staff"])
StatusName = Literal["pending", "pending_fix", "pending_org_review", "resolved", "backlog"]


class EventOut(BaseModel):
    from_status: str | None
    to_status: str
    mover: str
    actor: str
    note: str
    at: datetime


class ActionItemOut(BaseModel):
    id: UUID
    tool: str
    error_kind: str
    status: StatusName
    status_label: str
    title: str
    detail: str
    occurrences: int
    first_seen_at: datetime
    last_seen_at: datetime
    organisation: str | None = None

    @classmethod
    def of(cls, item: ActionItem, organisation: str | None = None) -> ActionItemOut:
        return cls(
            id=item.id,
            tool=item.tool,
            error_kind=item.error_kind,
            status=item.status,
            status_label=action_items.status_label(item.status),
            title=item.title,
            detail=item.detail,
            occurrences=item.occurrences,
            first_seen_at=item.first_seen_at,
            last_seen_at=item.last_seen_at,
            organisation=organisation,
        )


class ActionItemDetailOut(ActionItemOut):
    tool_disabled_until_fixed: bool
    history: list[EventOut]

    @classmethod
    def of_detail(cls, d: ItemDetail) -> ActionItemDetailOut:
        return cls(
            **ActionItemOut.of(d.item, d.org_name or None).model_dump(),
            tool_disabled_until_fixed=d.tool_held,
            history=[
                EventOut(
                    from_status=e.from_status,
                    to_status=e.to_status,
                    mover=e.mover,
                    actor=e.actor_label,
                    note=e.note,
                    at=e.at,
                )
                for e in d.events
            ],
        )


class ReviewIn(Strict):
    fixed: bool = Field(description="true: the fix works (resolved); false: back to VixPro")
    note: str = Field(default="", max_length=2000)


class MoveIn(Strict):
    status: StatusName
    note: str = Field(default="", max_length=2000)


@org_router.get("/action-items", response_model=Page[ActionItemOut], summary="Your action items")
async def list_items(
    principal: PrincipalDep,
    state: StateDep,
    page: PageDep,
    status_: Annotated[StatusName | None, Query(alias="status")] = None,
) -> Page[ActionItemOut]:
    async with state.db.tenant_session(principal.org_id) as session:
        rows = await action_items.list_items(
            session, status=status_, limit=page.limit, cursor=page.cursor
        )
    return Page(
        items=[ActionItemOut.of(i) for i in rows],
        next_cursor=page.next([(i.last_seen_at, i.id) for i in rows]),
    )


@org_router.get(
    "/action-items/{action_item_id}", response_model=ActionItemDetailOut, summary="With history"
)
async def get_item(
    action_item_id: UUID, principal: PrincipalDep, state: StateDep
) -> ActionItemDetailOut:
    async with state.db.tenant_session(principal.org_id) as session:
        return ActionItemDetailOut.of_detail(await action_items.get_item(session, action_item_id))


@org_router.post(
    "/action-items/{action_item_id}/review",
    response_model=ActionItemDetailOut,
    summary="Verify a deployed fix: it works (resolved) or not (back to VixPro)",
)
async def review(
    action_item_id: UUID, body: ReviewIn, principal: PrincipalDep, state: StateDep
) -> ActionItemDetailOut:
    async with state.db.tenant_session(principal.org_id) as session:
        detail = await action_items.review(
            session, principal, state.manifest, action_item_id, fixed=body.fixed, note=body.note
        )
        return ActionItemDetailOut.of_detail(detail)


@staff_router.get(
    "/action-items",
    response_model=list[ActionItemOut],
    summary="The engineering queue across organisations (audited)",
)
async def staff_queue(
    actor: StaffDep,
    state: StateDep,
    status_: Annotated[list[StatusName] | None, Query(alias="status")] = None,
) -> list[ActionItemOut]:
    async with state.db.system_session("staff console: engineering queue") as session:
        rows = await action_items.staff_queue(session, actor, statuses=status_ or [])
    return [ActionItemOut.of(i, org) for i, org in rows]


@staff_router.get(
    "/action-items/{action_item_id}", response_model=ActionItemDetailOut, summary="An item"
)
async def staff_get(action_item_id: UUID, actor: StaffDep, state: StateDep) -> ActionItemDetailOut:
    async with state.db.system_session("staff console: action item") as session:
        return ActionItemDetailOut.of_detail(
            await action_items.staff_get(session, actor, action_item_id)
        )


@staff_router.post(
    "/action-items/{action_item_id}/status",
    response_model=ActionItemDetailOut,
    summary="Move an item along the pipeline (the organisation is notified)",
)
async def staff_move(
    action_item_id: UUID, body: MoveIn, actor: StaffDep, state: StateDep
) -> ActionItemDetailOut:
    async with state.db.system_session("staff console: move action item") as session:
        detail = await action_items.staff_move(
            session, actor, state.manifest, action_item_id, body.status, body.note
        )
        return ActionItemDetailOut.of_detail(detail)


router = APIRouter()
router.include_router(org_router)
router.include_router(staff_router)
