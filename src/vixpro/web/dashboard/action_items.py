"""Action-item pages: the organisation's items with their history (and verifying a deployed
fix), and the staff console's engineering queue where items move through the pipeline."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from vixpro.core.action_items import Mover, Status, allowed
from vixpro.support import action_items
from vixpro.web.dashboard.pages import FORM_ERRORS, Flash, error_message, redirect, render
from vixpro.web.dashboard.session import (
    Member,
    MemberDep,
    Staff,
    StaffDep,
    StaffWriterDep,
    WriterDep,
)
from vixpro.web.deps import StateDep
from vixpro.web.state import AppState

router = APIRouter()
OPEN = (Status.PENDING, Status.PENDING_FIX, Status.PENDING_ORG_REVIEW, Status.BACKLOG)
FILTERS = {"open": [s.value for s in OPEN], "all": []} | {s.value: [s.value] for s in Status}


def _filter(value: str) -> str:
    return value if value in FILTERS else "open"


@router.get("/action-items")
async def items_page(
    request: Request,
    state: StateDep,
    member: MemberDep,
    status: Annotated[str, Query(max_length=24)] = "",
) -> Response:
    async with state.db.tenant_session(member.principal.org_id) as session:
        chosen = status if status in {s.value for s in Status} else None
        rows = await action_items.list_items(session, status=chosen, limit=200, cursor=None)
    return render(
        request,
        "action_items.html",
        {"items": rows, "labels": action_items.LABELS, "status": status, "statuses": list(Status)},
    )


async def _item_context(state: AppState, member: Member, item_id: uuid.UUID) -> dict[str, Any]:
    async with state.db.tenant_session(member.principal.org_id) as session:
        detail = await action_items.get_item(session, item_id)
    return {
        "detail": detail,
        "labels": action_items.LABELS,
        "may_review": member.manages and detail.item.status == Status.PENDING_ORG_REVIEW.value,
    }


@router.get("/action-items/{item_id}")
async def item_page(
    request: Request, state: StateDep, member: MemberDep, item_id: uuid.UUID
) -> Response:
    return render(request, "action_item.html", await _item_context(state, member, item_id))


@router.post("/action-items/{item_id}/review")
async def review(
    request: Request,
    state: StateDep,
    member: WriterDep,
    item_id: uuid.UUID,
    verdict: Annotated[str, Form(max_length=8)],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        async with state.db.tenant_session(member.principal.org_id) as session:
            await action_items.review(
                session,
                member.principal,
                state.manifest,
                item_id,
                fixed=verdict == "works",
                note=note,
            )
    except FORM_ERRORS as exc:
        status, message = error_message(exc)
        context = await _item_context(state, member, item_id)
        return render(request, "action_item.html", context, status=status, error=message)
    text = "Thanks: resolved." if verdict == "works" else "Sent back to the VixPro team."
    return redirect(request, f"/action-items/{item_id}", member.signed_in, Flash(text))


# The staff console's engineering queue.


@router.get("/staff/engineering")
async def queue_page(
    request: Request,
    state: StateDep,
    staff_user: StaffDep,
    show: Annotated[str, Query(max_length=24)] = "open",
) -> Response:
    show = _filter(show)
    async with state.db.system_session("staff console: engineering queue") as session:
        rows = await action_items.staff_queue(session, staff_user.actor, statuses=FILTERS[show])
        counts = await action_items.staff_counts(session)
    return render(
        request,
        "staff/engineering.html",
        {
            "rows": rows,
            "show": show,
            "counts": counts,
            "labels": action_items.LABELS,
            "statuses": list(Status),
        },
    )


async def _staff_context(state: AppState, staff_user: Staff, item_id: uuid.UUID) -> dict[str, Any]:
    async with state.db.system_session("staff console: action item") as session:
        detail = await action_items.staff_get(session, staff_user.actor, item_id)
    return {
        "detail": detail,
        "labels": action_items.LABELS,
        "moves": allowed(Status(detail.item.status), Mover.STAFF),
        "staff_view": True,
    }


@router.get("/staff/engineering/{item_id}")
async def staff_item_page(
    request: Request, state: StateDep, staff_user: StaffDep, item_id: uuid.UUID
) -> Response:
    context = await _staff_context(state, staff_user, item_id)
    return render(request, "staff/engineering_item.html", context)


@router.post("/staff/engineering/{item_id}/status")
async def staff_move(
    request: Request,
    state: StateDep,
    staff_user: StaffWriterDep,
    item_id: uuid.UUID,
    to: Annotated[str, Form(max_length=24)],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        async with state.db.system_session("staff console: move action item") as session:
            detail = await action_items.staff_move(
                session, staff_user.actor, state.manifest, item_id, to, note
            )
    except FORM_ERRORS as exc:
        status, message = error_message(exc)
        context = await _staff_context(state, staff_user, item_id)
        return render(request, "staff/engineering_item.html", context, status=status, error=message)
    text = (
        f"Moved to {action_items.status_label(detail.item.status)}; the organisation was notified."
    )
    return redirect(request, f"/staff/engineering/{item_id}", staff_user.signed_in, Flash(text))
